/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VB_CHAN_H
#define VB_CHAN_H
#endif
