/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * urcu-compat.c - the library: the one file to compile, once per flavor.
 * It includes the parts that live beside it in compat/.
 *
 * The header decides the flavor (the liburcu header included before this
 * file, or the one named by URCU_COMPAT_FLAVOR_{MB,SIGNAL,QSBR,BP},
 * default <urcu.h>) and the mode (URCU_COMPAT_NATIVE_BARRIER: native on
 * liburcu 0.8+, the emulation on 0.7 or when URCU_COMPAT_FORCE_EMULATION
 * is 1).
 *
 * Which file holds what (all in compat/; the parts are included here, as
 * liburcu includes its *-impl.h files: the file one reads is the file
 * compiled, and a drop-in copy builds with one cc command, nothing
 * generated):
 *   mode.h              the interface between the shared parts and a mode
 *   checks-impl.h       clocks, misuse checks (-EDEADLK, -ESRCH), QSBR
 *                       offline, the gate between frees and fork hooks,
 *                       stops in progress, the barrier entry points
 *   route-impl.h        where the header's call_rcu() goes, and the
 *                       library's own call_rcu worker (both modes)
 *   emulation-impl.h    the mode for liburcu 0.7 (or forced)
 *   native-impl.h       the mode for liburcu 0.8+
 *   stall-impl.h        the stall report of a barrier that gave up, its
 *                       line at exit, native mode's known workers
 *   worker-stop-impl.h  the worker stop with exactly one join
 *   fork-exit-impl.h    fork hooks, exit barriers, constructor, destructor
 *
 * A barrier (urcu_compat_barrier(), _timeout(), rcu_barrier()) passes the
 * checks (checks-impl.h), then mode_barrier():
 *   - emulation: every known worker has a record with SLOTS preallocated
 *     rendezvous rcu_heads. start_barrier() takes the next generation and
 *     a slot and queues one rendezvous per worker; barrier_cb() counts
 *     them down and complete_slot() completes the generation, waking the
 *     callers waiting on gen_done[]. Up to SLOTS run at once; callers
 *     that took their number before another one started share it, and so
 *     do those that find every slot taken. Freed workers are drained by a
 *     marker (drain_cb()) that follows their callbacks wherever liburcu
 *     moves them. Only the 0.7 call_rcu API is used there.
 *   - native: liburcu's rcu_barrier() in the caller; a bounded barrier
 *     asks the one helper thread (runner()) to run it and waits for
 *     runner_done until its deadline.
 * A barrier that gives up leaves what urcu_compat_barrier_stalls()
 * reports (stall-impl.h, mode_stalls()): the emulation keeps the
 * generation it waited for and lists the records that still owe a
 * rendezvous (rv_pending) or a drain (drain_waited) up to it; native mode
 * lists the workers the header saw (the default one handed out, those
 * created through it) whose probe, queued by runner() just before
 * liburcu's barrier, has not run. The first rendezvous or probe that runs
 * on a worker notes its kernel tid.
 * A worker is stopped by urcu_compat_call_rcu_data_free()
 * (worker-stop-impl.h). Where liburcu joins (memb, mb: it exports
 * urcu_*_exit; otherwise probed once), the stop is liburcu's free alone.
 * Elsewhere stop_worker() uses the worker's exit watch (for a worker
 * created through the header: queued at creation in native mode, planted
 * by its first rendezvous in the emulation; else queued and waited for),
 * calls mode_free_worker() (emulation: drain, unless the queue mark
 * proves the queue empty, then liburcu's free; native: liburcu's free),
 * waits for the worker thread to exit, and the caller joins it.
 * At fork (fork-exit-impl.h): liburcu's fork hooks, routed through the
 * header, pass the gate; the atfork handlers hold the mode's lock and
 * the probe lock across fork(), and the child makes its locks anew and
 * records whether it lost workers (then barriers return -ESRCH until
 * call_rcu_after_fork_child()).
 * call_rcu() through the header (route-impl.h): liburcu's at once for a
 * thread with its own worker or when every CPU has one; otherwise
 * urcu_compat_call_rcu_route(). With urcu_compat_set_library_worker(1)
 * it queues what liburcu would give to its default worker on the
 * library's worker (made on first use; in the emulation a record with
 * keep_until_freed, like any worker made through the header): the
 * thread's call_rcu data is set for that one call and put back, under
 * the RCU read lock held from the read of the route to the enqueue.
 * Otherwise (and while the route is closed) it goes to liburcu's default
 * worker, which the emulation notes first.
 * At exit (fork-exit-impl.h): urcu_compat_exit(), from atexit() or the
 * destructor, whichever runs first: the route closed, the exit barriers
 * (none when the emulation's queue mark proves nothing queued),
 * mode_exit(), and when a barrier gave up, a callback that keeps the
 * default worker. When they all completed, the library's worker gets a
 * marker (every call that read the route before it closed was queued
 * before the barrier's rendezvous ran a grace period later); once the
 * marker ran within the exit timeout the worker is stopped and joined
 * once (free_and_join()). Otherwise, with the exit barriers off, in a
 * fork() child (forgotten there), the worker is left alone.
 */
#define _GNU_SOURCE
#define _LGPL_SOURCE

/* Chooses the flavor and the mode for this file too. */
#define URCU_COMPAT_BUILDING_LIBRARY
#include "urcu-compat.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <urcu/list.h>

/* What the library exports; everything else is static or hidden. */
#define URCU_COMPAT_API __attribute__((visibility("default")))

#include "mode.h"
#include "checks-impl.h"
#include "stall-impl.h"
#include "route-impl.h"
#include "emulation-impl.h"
#include "native-impl.h"
#include "worker-stop-impl.h"
#include "fork-exit-impl.h"
