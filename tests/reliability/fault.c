/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Interposers for fault.h. The real functions are found with
 * dlsym(RTLD_NEXT), never from inside an allocator: the dynamic linker
 * (and a sanitizer's start-up, inside dlsym()) allocates. Until they are
 * found (at the first interposed pthread call, at the latest by this
 * executable's constructor), the allocators serve from a static buffer,
 * whose blocks free() ignores and realloc() copies out of.
 *
 * A call is the library's when the address it returns to lies in the
 * executable segment of the loaded liburcu-compat*.so.
 */
#define _GNU_SOURCE
#include "fault.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu/uatomic.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void (*real_free)(void *);
static void *(*real_realloc)(void *, size_t);
static int (*real_pthread_create)(pthread_t *, const pthread_attr_t *,
				  void *(*)(void *), void *);
static int (*real_mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
static int (*real_cond_init)(pthread_cond_t *, const pthread_condattr_t *);
static int (*real_condattr_init)(pthread_condattr_t *);
static int (*real_condattr_setclock)(pthread_condattr_t *, clockid_t);
static int (*real_key_create)(pthread_key_t *, void (*)(void *));

static __thread int resolving;
static char early_buf[1 << 20] __attribute__((aligned(16)));
static size_t early_used;

/* A block: its size in the 16 bytes before it. */
static void *early_alloc(size_t size)
{
	size_t at, len = ((size + 15) & ~(size_t)15) + 16;

	if (size > sizeof(early_buf))
		return NULL;
	at = uatomic_add_return(&early_used, len) - len;
	if (at + len > sizeof(early_buf))
		return NULL;
	memcpy(early_buf + at, &size, sizeof(size));
	return early_buf + at + 16;	/* static storage: already zeroed */
}

static int is_early(const void *p)
{
	return (const char *)p >= early_buf &&
		(const char *)p < early_buf + sizeof(early_buf);
}

#define RESOLVE(var, name)						\
	do {								\
		void *sym = dlsym(RTLD_NEXT, name);			\
		if (!sym)						\
			abort();					\
		memcpy(&(var), &sym, sizeof(var));			\
	} while (0)

static void resolve(void)
{
	if (resolving)
		return;
	resolving = 1;
	RESOLVE(real_malloc, "malloc");
	RESOLVE(real_calloc, "calloc");
	RESOLVE(real_free, "free");
	RESOLVE(real_realloc, "realloc");
	RESOLVE(real_pthread_create, "pthread_create");
	RESOLVE(real_mutex_init, "pthread_mutex_init");
	RESOLVE(real_cond_init, "pthread_cond_init");
	RESOLVE(real_condattr_init, "pthread_condattr_init");
	RESOLVE(real_condattr_setclock, "pthread_condattr_setclock");
	RESOLVE(real_key_create, "pthread_key_create");
	resolving = 0;
}

/* ---------------------------------------------------------------- */
/* Where the library's code is                                        */
/* ---------------------------------------------------------------- */

static uintptr_t lib_start, lib_end;

static int find_lib(struct dl_phdr_info *info, size_t size, void *data)
{
	int i;

	(void)size;
	(void)data;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "liburcu-compat"))
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			lib_start = info->dlpi_addr + ph->p_vaddr;
			lib_end = lib_start + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

int fault_ready(void)
{
	if (!lib_end)
		dl_iterate_phdr(find_lib, NULL);
	return lib_end != 0;
}

int fault_alloc_works(void)
{
	const char *preload = getenv("LD_PRELOAD");

	return !preload || !strstr(preload, "vgpreload");
}

/* ---------------------------------------------------------------- */
/* Arming                                                             */
/* ---------------------------------------------------------------- */

static unsigned int armed_kinds;	/* 0: disarmed */
static unsigned long armed_nth, armed_one_in, calls, injected;
static __thread unsigned long rng;

void fault_arm_nth(unsigned int kinds, unsigned long nth)
{
	fault_ready();
	uatomic_set(&armed_kinds, 0);
	uatomic_set(&calls, 0);
	uatomic_set(&armed_one_in, 0);
	uatomic_set(&armed_nth, nth);
	cmm_smp_mb();
	uatomic_set(&armed_kinds, kinds);
}

void fault_arm_random(unsigned int kinds, unsigned int one_in)
{
	fault_ready();
	uatomic_set(&armed_kinds, 0);
	uatomic_set(&calls, 0);
	uatomic_set(&armed_nth, 0);
	uatomic_set(&armed_one_in, one_in ? one_in : 1);
	cmm_smp_mb();
	uatomic_set(&armed_kinds, kinds);
}

void fault_disarm(void)
{
	uatomic_set(&armed_kinds, 0);
	cmm_smp_mb();
}

/*
 * URCU_COMPAT_FAULT_AT_START=KINDS:NTH arms before main(), from the first
 * interposed pthread call once the environment is there (a sanitizer's
 * start-up comes earlier): the library's constructor is then under test.
 */
extern char **environ;
static int env_checked;

static void arm_from_env(void)
{
	const char *v;
	char *end;
	unsigned long kinds, nth;

	if (env_checked || !environ)
		return;
	env_checked = 1;
	v = getenv("URCU_COMPAT_FAULT_AT_START");
	if (!v)
		return;
	kinds = strtoul(v, &end, 0);
	if (*end != ':')
		return;
	nth = strtoul(end + 1, &end, 0);
	if (*end)
		return;
	fault_arm_nth((unsigned int)kinds, nth);
}

unsigned long fault_calls(void)
{
	return uatomic_read(&calls);
}

unsigned long fault_injected(void)
{
	return uatomic_read(&injected);
}

/* Should this call, made from caller, fail? */
static int should_fail(unsigned int kind, const void *caller)
{
	uintptr_t pc = (uintptr_t)caller;
	unsigned long n, one_in;

	if (!(uatomic_read(&armed_kinds) & kind))
		return 0;
	/* Armed too early to find it (a sanitizer starting up): again, not from an allocator. */
	if (!lib_end && kind != FAULT_ALLOC)
		fault_ready();
	if (pc < lib_start || pc >= lib_end)
		return 0;
	n = uatomic_add_return(&calls, 1);
	one_in = uatomic_read(&armed_one_in);
	if (one_in) {
		if (!rng)
			rng = (uintptr_t)&rng ^ (unsigned long)time(NULL) ^ n;
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		if (rng % one_in)
			return 0;
	} else if (n != uatomic_read(&armed_nth)) {
		return 0;
	}
	uatomic_inc(&injected);
	return 1;
}

#define CALLER __builtin_return_address(0)

/* ---------------------------------------------------------------- */
/* Interposers                                                        */
/* ---------------------------------------------------------------- */

static pid_t main_pid;

static void __attribute__((constructor(101))) fault_init(void)
{
	main_pid = getpid();
	if (!real_malloc)
		resolve();
}

/*
 * LeakSanitizer asks this at exit. A fork() child of these tests keeps
 * the parent's memory without the parent's threads, whose stacks held
 * the references: its leak check would only report the parent's live
 * objects. The tests' own process is checked.
 */
__attribute__((visibility("default"))) int __lsan_is_turned_off(void);
__attribute__((visibility("default"))) int __lsan_is_turned_off(void)
{
	return main_pid && getpid() != main_pid;
}

void *malloc(size_t size)
{
	if (!real_malloc)
		return early_alloc(size);
	if (should_fail(FAULT_ALLOC, CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	return real_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (!real_calloc)
		return size && n > SIZE_MAX / size ? NULL : early_alloc(n * size);
	if (should_fail(FAULT_ALLOC, CALLER)) {
		errno = ENOMEM;
		return NULL;
	}
	return real_calloc(n, size);
}

void free(void *p)
{
	if (!p || is_early(p) || !real_free)	/* nothing real before real_free */
		return;
	real_free(p);
}

void *realloc(void *p, size_t size)
{
	size_t old;
	void *n;

	if (p && is_early(p)) {
		n = malloc(size);
		if (n) {
			memcpy(&old, (char *)p - 16, sizeof(old));
			memcpy(n, p, old < size ? old : size);
		}
		return n;
	}
	if (!real_realloc)
		return p ? NULL : early_alloc(size);
	return real_realloc(p, size);
}

int pthread_create(pthread_t *tid, const pthread_attr_t *attr,
		   void *(*fn)(void *), void *arg)
{
	if (!real_pthread_create)
		resolve();
	arm_from_env();
	if (should_fail(FAULT_THREAD, CALLER))
		return EAGAIN;
	return real_pthread_create(tid, attr, fn, arg);
}

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
	if (!real_mutex_init)
		resolve();
	arm_from_env();
	if (should_fail(FAULT_SYNC, CALLER))
		return ENOMEM;
	return real_mutex_init(m, attr);
}

int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
	if (!real_cond_init)
		resolve();
	arm_from_env();
	if (should_fail(FAULT_SYNC, CALLER))
		return ENOMEM;
	return real_cond_init(c, attr);
}

int pthread_condattr_init(pthread_condattr_t *attr)
{
	if (!real_condattr_init)
		resolve();
	arm_from_env();
	if (should_fail(FAULT_SYNC, CALLER))
		return ENOMEM;
	return real_condattr_init(attr);
}

int pthread_condattr_setclock(pthread_condattr_t *attr, clockid_t clock)
{
	if (!real_condattr_setclock)
		resolve();
	arm_from_env();
	if (should_fail(FAULT_SYNC, CALLER))
		return EINVAL;
	return real_condattr_setclock(attr, clock);
}

int pthread_key_create(pthread_key_t *key, void (*destructor)(void *))
{
	if (!real_key_create)
		resolve();
	arm_from_env();
	if (should_fail(FAULT_KEY, CALLER))
		return EAGAIN;
	return real_key_create(key, destructor);
}
