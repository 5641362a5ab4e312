/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - errors.c: names of the VB_ERR_* codes.
 */
#include "vb/telephony.h"

const char *vb_strerror(int code)
{
    switch (code)
    {
    case VB_OK:
        return "no error";
    case VB_ERR_NOMEM:
        return "out of memory";
    case VB_ERR_INVALID:
        return "invalid argument";
    case VB_ERR_FULL:
        return "buffer full";
    case VB_ERR_EMPTY:
        return "buffer empty";
    case VB_ERR_STATE:
        return "not allowed in the current state";
    }
    return "unknown error";
}
