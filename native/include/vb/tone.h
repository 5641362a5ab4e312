/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VB_TONE_H
#define VB_TONE_H
#endif
