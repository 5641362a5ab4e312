/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VB_RESAMPLE_H
#define VB_RESAMPLE_H
#endif
