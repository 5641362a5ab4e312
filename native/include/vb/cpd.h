/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VB_CPD_H
#define VB_CPD_H
#endif
