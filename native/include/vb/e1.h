/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VB_E1_H
#define VB_E1_H
#endif
