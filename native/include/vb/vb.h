/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - vb.h: umbrella header. Every exported symbol is prefixed vb_/VB_
 * because the same process may also load spandsp.
 */
#ifndef VB_VB_H
#define VB_VB_H

#include "vb/telephony.h"
#include "vb/g711.h"
#include "vb/dtmf.h"
#include "vb/tone.h"
#include "vb/cpd.h"
#include "vb/ring.h"
#include "vb/chan.h"
#include "vb/resample.h"
#include "vb/fsk.h"
#include "vb/e1.h"
#include "vb/r2mf.h"

#endif
