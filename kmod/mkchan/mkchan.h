/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mkchan internals. Locking: mkchan_lock (a mutex) guards the control
 * plane only: the alias table, each mailbox's names, capabilities, pending
 * and open channel lists, and chan->mbox. The data plane (ring traffic,
 * KICK, WAIT, poll) touches only the channel it is about and takes no
 * global lock.
 */
#ifndef MKCHAN_INTERNAL_H
#define MKCHAN_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>

#include <uapi/mk/mkchan.h>

extern struct mutex mkchan_lock;
extern unsigned int mkchan_max_slots;
extern unsigned int mkchan_max_channels;
extern unsigned int mkchan_max_pending;

/* Live object counts, shown in /sys/class/misc/mkchan/ for leak checks. */
extern atomic_long_t mkchan_nr_mboxes;
extern atomic_long_t mkchan_nr_chans;
extern atomic_long_t mkchan_nr_pages;

struct mkchan_mbox {
	u64 id;
	unsigned int cpu;
	int node;
	struct list_head names;		/* struct mkchan_name */
	struct list_head caps;		/* struct mkchan_cap */
	struct list_head pending;	/* channels not yet accepted */
	struct list_head chans;		/* accepted channels */
	unsigned int nr_pending;
	wait_queue_head_t wq;		/* EPOLLIN: a channel to accept */
	kuid_t owner_uid;		/* of its creator, told to connecting ends */
	kgid_t owner_gid;
};

struct mkchan_name {
	struct hlist_node hnode;	/* in the alias table */
	struct list_head node;		/* in mbox->names */
	struct mkchan_mbox *mbox;
	u64 alias;
};

struct mkchan_cap {
	struct list_head node;
	u64 token;
};

struct mkchan_chan {
	struct kref ref;		/* one per open end, one while pending */
	struct mkchan_mbox *mbox;	/* NULL once shot down or its mbox is gone */
	struct list_head node;		/* in mbox->pending or mbox->chans */
	bool accepted;			/* which of the two lists */
	u64 alias;			/* what it was opened with */
	u64 cap;
	struct pid *peer;		/* the connecting process */
	kuid_t peer_uid;
	kgid_t peer_gid;
	unsigned int cpu;
	int ring_node[2];		/* of each ring's pages */
	unsigned int slots;		/* per ring */
	unsigned int ring_pages;	/* per ring: ring 1 starts after them */
	unsigned int nr_pages;		/* both rings */
	struct page **pages;
	void *map;			/* kernel view of all pages */
	struct mkchan_ring *ring[2];	/* 0: connect -> accept, 1: back */
	u32 state;			/* MKCHAN_RING_OPEN or why it ended */
	wait_queue_head_t wq[2];	/* waiters of each end, for messages and credits */
};

/* mkchan_mbox.c */
long mkchan_mbox_create(struct mkchan_mbox_create __user *arg);
long mkchan_alias_add(struct mkchan_alias __user *arg);
long mkchan_alias_del(struct mkchan_alias __user *arg);
struct mkchan_mbox *mkchan_mbox_lookup(u64 alias);
bool mkchan_mbox_has_cap(struct mkchan_mbox *mbox, u64 token);

/* mkchan_monitor.c */
struct seq_file;
int mkchan_monitors_init(void);
void mkchan_monitors_exit(void);
void mkchan_monitor_stats(struct seq_file *m);

/* mkchan_debugfs.c */
void mkchan_debugfs_init(void);
void mkchan_debugfs_exit(void);

/* mkchan_chan.c */
long mkchan_connect(struct mkchan_connect __user *arg);
long mkchan_accept(struct mkchan_mbox *mbox, struct mkchan_accept __user *arg);
void mkchan_chan_detach(struct mkchan_chan *chan, u32 why);

#endif /* MKCHAN_INTERNAL_H */
