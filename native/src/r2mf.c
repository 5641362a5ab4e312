/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vb/r2mf.h"
