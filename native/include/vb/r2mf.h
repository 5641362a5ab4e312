/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VB_R2MF_H
#define VB_R2MF_H
#endif
