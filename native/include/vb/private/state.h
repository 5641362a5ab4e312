/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - private/state.h: the memory behind a module's state.
 */
#ifndef VB_PRIVATE_STATE_H
#define VB_PRIVATE_STATE_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* What every module's _init(s, ...) does with 's': NULL asks for a new state from malloc;
   otherwise 's' is caller-owned memory or a state this library allocated before (initialised
   again, it stays the library's to free). The state comes back zeroed with its int
   'allocated' member (at flag_offset) saying whether _free() frees it; NULL when malloc
   fails. Use it through VB_STATE_CLAIM. */
static inline void *vb_state_claim(void *s, size_t size, size_t flag_offset)
{
    int allocated = 1;

    if (s == NULL)
    {
        if ((s = malloc(size)) == NULL)
            return NULL;
    }
    else
    {
        memcpy(&allocated, (char *) s + flag_offset, sizeof(allocated));
    }
    memset(s, 0, size);
    memcpy((char *) s + flag_offset, &allocated, sizeof(allocated));
    return s;
}

#define VB_STATE_CLAIM(s, type) ((type *) vb_state_claim((s), sizeof(type), offsetof(type, allocated)))

#endif
