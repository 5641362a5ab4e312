/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VB_RING_H
#define VB_RING_H
#endif
