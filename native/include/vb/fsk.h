/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VB_FSK_H
#define VB_FSK_H
#endif
