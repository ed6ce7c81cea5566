/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugin test_unload.c loads and unloads again and again: a shared
 * module that uses urcu-compat as any plugin of a daemon might.
 */
#include "unload.h"
#include <urcu-compat.h>

#include <errno.h>

int unload_plugin_cycle(struct unload_cycle *c);

#define QUEUED 10

static struct rcu_head heads[QUEUED];
static unsigned long ran;

static void count_cb(struct rcu_head *head)
{
	(void)head;
	uatomic_inc(&ran);
}

int unload_plugin_cycle(struct unload_cycle *c)
{
	struct call_rcu_data *crdp;
	int i;

	if (c->block) {
		/* To the default worker, where the program's callback blocks. */
		call_rcu(c->blocked_head, c->blocked_cb);
		return urcu_compat_barrier_timeout(0) == -ETIMEDOUT ? 0 : 1;
	}
	if (!c->work)
		return 0;
	/* Not reloaded when the library inside keeps the plugin loaded. */
	uatomic_set(&ran, 0);
	crdp = create_call_rcu_data(0, -1);
	if (!crdp)
		return 2;
	c->worker = get_call_rcu_thread(crdp);
	set_thread_call_rcu_data(crdp);
	for (i = 0; i < QUEUED; i++)
		call_rcu(&heads[i], count_cb);
	set_thread_call_rcu_data(NULL);
	if (urcu_compat_barrier() || uatomic_read(&ran) != QUEUED)
		return 3;
	synchronize_rcu();
	urcu_compat_call_rcu_data_free(crdp);
	return 0;
}
