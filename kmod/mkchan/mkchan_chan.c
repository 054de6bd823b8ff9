// SPDX-License-Identifier: GPL-2.0
/*
 * Channels: two rings (layout in the uapi header), one each way, each in
 * pages on the node of the end that receives from it, mapped whole by both
 * ends. Messages never enter the kernel; it only wakes an end that
 * announced it sleeps (KICK, WAIT, poll) and ends channels (peer close,
 * shootdown).
 *
 * An end is known by its file_operations; ring[r] is received from by the
 * end whose index is r: 0 is the accepting end, 1 the connecting end.
 */
#define pr_fmt(fmt) "mkchan: " fmt

#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>

#include "../common/file.h"
#include "../common/vma.h"
#include "mkchan.h"

static const struct file_operations mkchan_connect_fops;
static const struct file_operations mkchan_accept_fops;

/* The ring an end receives from, and the index of its waitqueue. */
static unsigned int end_of(struct file *file)
{
	return file->f_op == &mkchan_accept_fops ? 0 : 1;
}

static void chan_free_pages(struct mkchan_chan *chan)
{
	unsigned int i;

	if (chan->map)
		vunmap(chan->map);
	if (!chan->pages)
		return;
	for (i = 0; i < chan->nr_pages && chan->pages[i]; i++)
		__free_page(chan->pages[i]);
	atomic_long_sub(i, &mkchan_nr_pages);
	kfree(chan->pages);
}

static void chan_release_ref(struct kref *ref)
{
	struct mkchan_chan *chan = container_of(ref, struct mkchan_chan, ref);

	chan_free_pages(chan);
	put_pid(chan->peer);
	kfree(chan);
	atomic_long_dec(&mkchan_nr_chans);
}

static void chan_put(struct mkchan_chan *chan)
{
	kref_put(&chan->ref, chan_release_ref);
}

static void ring_init(struct mkchan_ring *ring, unsigned int slots)
{
	/* Zeroed slots are an empty ring (see "Ring layout"). */
	ring->info.version = MKCHAN_RING_VERSION;
	ring->info.slot_size = MKCHAN_RING_SLOT_SIZE;
	ring->info.slots = slots;
	ring->info.magic = MKCHAN_RING_MAGIC;
}

/*
 * A channel with two zeroed rings of @slots slots: ring 0 on @node0 (the
 * mailbox's), ring 1 on @node1 (the connector's). Counted.
 */
static struct mkchan_chan *chan_alloc(unsigned int slots, int node0, int node1)
{
	struct mkchan_chan *chan;
	unsigned int i;

	if (atomic_long_inc_return(&mkchan_nr_chans) > mkchan_max_channels) {
		atomic_long_dec(&mkchan_nr_chans);
		return ERR_PTR(-ENOSPC);
	}
	chan = kzalloc_node(sizeof(*chan), GFP_KERNEL_ACCOUNT, node0);
	if (!chan) {
		atomic_long_dec(&mkchan_nr_chans);
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&chan->ref);
	init_waitqueue_head(&chan->wq[0]);
	init_waitqueue_head(&chan->wq[1]);
	INIT_LIST_HEAD(&chan->node);
	chan->slots = slots;
	chan->ring_node[0] = node0;
	chan->ring_node[1] = node1;
	chan->ring_pages = DIV_ROUND_UP(MKCHAN_RING_BYTES(slots), PAGE_SIZE);
	chan->nr_pages = 2 * chan->ring_pages;
	chan->pages = kcalloc(chan->nr_pages, sizeof(*chan->pages), GFP_KERNEL_ACCOUNT);
	if (!chan->pages)
		goto fail;
	for (i = 0; i < chan->nr_pages; i++) {
		chan->pages[i] = alloc_pages_node(i < chan->ring_pages ? node0 : node1,
						  GFP_KERNEL_ACCOUNT | __GFP_ZERO, 0);
		if (!chan->pages[i])
			goto fail;
		atomic_long_inc(&mkchan_nr_pages);
	}
	chan->map = vmap(chan->pages, chan->nr_pages, VM_MAP, PAGE_KERNEL);
	if (!chan->map)
		goto fail;
	chan->ring[0] = chan->map;
	chan->ring[1] = chan->map + ((size_t)chan->ring_pages << PAGE_SHIFT);
	ring_init(chan->ring[0], slots);
	ring_init(chan->ring[1], slots);
	return chan;
fail:
	chan_put(chan);
	return ERR_PTR(-ENOMEM);
}

/* Ends @chan for good, for reason @why, and wakes everyone waiting on it. */
static void chan_end(struct mkchan_chan *chan, u32 why)
{
	lockdep_assert_held(&mkchan_lock);
	if (chan->state == MKCHAN_RING_OPEN) {
		WRITE_ONCE(chan->state, why);
		/* The word libmk checks on every operation. */
		WRITE_ONCE(chan->ring[0]->info.closed, why);
		WRITE_ONCE(chan->ring[1]->info.closed, why);
	}
	wake_up_all(&chan->wq[0]);
	wake_up_all(&chan->wq[1]);
}

/*
 * Takes @chan off its mailbox and ends it. A channel still pending loses
 * the reference kept for the receiving end that will now never exist.
 */
void mkchan_chan_detach(struct mkchan_chan *chan, u32 why)
{
	struct mkchan_mbox *mbox = chan->mbox;

	lockdep_assert_held(&mkchan_lock);
	chan_end(chan, why);
	if (!mbox)
		return;
	list_del_init(&chan->node);
	chan->mbox = NULL;
	if (!chan->accepted) {
		mbox->nr_pending--;
		chan_put(chan);
	}
}

static bool valid_slots(u32 slots)
{
	return slots >= MKCHAN_RING_MIN_SLOTS && slots <= mkchan_max_slots &&
	       is_power_of_2(slots);
}

long mkchan_connect(struct mkchan_connect __user *arg)
{
	struct mkchan_connect req;
	struct mkchan_mbox *mbox;
	struct mkchan_chan *chan;
	struct file *file;
	int node, fd;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved || !valid_slots(req.slots))
		return -EINVAL;

	/* Learn where the receiver lives, then allocate there unlocked. */
	mutex_lock(&mkchan_lock);
	mbox = mkchan_mbox_lookup(req.alias);
	node = mbox ? mbox->node : NUMA_NO_NODE;
	mutex_unlock(&mkchan_lock);
	if (!mbox)
		return -ECONNREFUSED;

	chan = chan_alloc(req.slots, node, numa_node_id());
	if (IS_ERR(chan))
		return PTR_ERR(chan);
	chan->alias = req.alias;
	chan->cap = req.cap;
	chan->peer = get_pid(task_tgid(current));
	chan->peer_uid = current_uid();
	chan->peer_gid = current_gid();

	fd = mk_new_file("[mkchan-connect]", &mkchan_connect_fops, chan, &file);
	if (fd < 0) {
		chan_put(chan);
		return fd;
	}

	/* The mailbox may have changed while we allocated: look again. */
	mutex_lock(&mkchan_lock);
	mbox = mkchan_mbox_lookup(req.alias);
	if (!mbox)
		ret = -ECONNREFUSED;
	else if (!mkchan_mbox_has_cap(mbox, req.cap))
		ret = -EACCES;
	else if (mbox->nr_pending >= mkchan_max_pending)
		ret = -EAGAIN;
	else
		ret = 0;
	if (!ret) {
		chan->mbox = mbox;
		chan->cpu = mbox->cpu;
		req.owner_uid = from_kuid_munged(current_user_ns(), mbox->owner_uid);
		req.owner_gid = from_kgid_munged(current_user_ns(), mbox->owner_gid);
		kref_get(&chan->ref);	/* for the receiving end */
		list_add_tail(&chan->node, &mbox->pending);
		mbox->nr_pending++;
		wake_up(&mbox->wq);
	}
	mutex_unlock(&mkchan_lock);
	if (ret) {
		mk_finish_file(fd, file, false);
		return ret;
	}

	req.fd = fd;
	req.cpu = chan->cpu;
	if (copy_to_user(arg, &req, sizeof(req))) {
		/* Nobody will ever send on it: take it back from the mailbox. */
		mutex_lock(&mkchan_lock);
		mkchan_chan_detach(chan, MKCHAN_RING_CLOSED_PEER);
		mutex_unlock(&mkchan_lock);
		mk_finish_file(fd, file, false);
		return -EFAULT;
	}
	mk_finish_file(fd, file, true);
	return 0;
}

long mkchan_accept(struct mkchan_mbox *mbox, struct mkchan_accept __user *arg)
{
	struct mkchan_accept res = {};
	struct mkchan_chan *chan;
	struct file *file;
	int fd;
	long ret;

	mutex_lock(&mkchan_lock);
	chan = list_first_entry_or_null(&mbox->pending, struct mkchan_chan, node);
	if (!chan) {
		mutex_unlock(&mkchan_lock);
		return -EAGAIN;
	}
	/* The pending reference becomes the accepting end's. */
	fd = mk_new_file("[mkchan-accept]", &mkchan_accept_fops, chan, &file);
	if (fd < 0) {
		mutex_unlock(&mkchan_lock);
		return fd;
	}
	list_move_tail(&chan->node, &mbox->chans);
	chan->accepted = true;
	mbox->nr_pending--;
	res.fd = fd;
	res.slots = chan->slots;
	res.alias = chan->alias;
	res.cap = chan->cap;
	res.peer_pid = pid_vnr(chan->peer);
	res.peer_uid = from_kuid_munged(current_user_ns(), chan->peer_uid);
	res.peer_gid = from_kgid_munged(current_user_ns(), chan->peer_gid);
	mutex_unlock(&mkchan_lock);

	ret = copy_to_user(arg, &res, sizeof(res)) ? -EFAULT : 0;
	mk_finish_file(fd, file, !ret);
	return ret;
}

static long chan_error(struct mkchan_chan *chan)
{
	switch (READ_ONCE(chan->state)) {
	case MKCHAN_RING_OPEN:
		return 0;
	case MKCHAN_RING_CLOSED_PEER:
		return -EPIPE;
	default:
		return -ECONNRESET;
	}
}

/*
 * Is the message the consumer expects next in @ring? Reads only words user
 * space may scribble on, indexed with the kernel's own slot count.
 */
static bool ring_ready(struct mkchan_chan *chan, struct mkchan_ring *ring)
{
	u64 head = READ_ONCE(ring->cons.head);
	u64 hdr = READ_ONCE(ring->slots[head & (chan->slots - 1)].hdr);

	return MKCHAN_RING_HDR_SEQ(hdr) == (u32)(head + 1);
}

/*
 * The low half of the published head of @ring: the word a sender blocked
 * on it compares (MKCHAN_RING_CREDIT_FUTEX). The kernel's own view of the
 * head, whatever the byte order.
 */
static u32 ring_credits(struct mkchan_ring *ring)
{
	return (u32)READ_ONCE(ring->cons.head);
}

/* The word a WAIT compares: the wait line's futex, or for credits the head. */
static u32 wait_word(struct mkchan_ring *ring, bool credits)
{
	return credits ? ring_credits(ring) : READ_ONCE(ring->wait.futex);
}

/*
 * Is there a free slot in @ring by its published head? The slot before
 * head + slots holds that position's message only once the producer has
 * filled the ring (or reserved the last slot for a fragment).
 */
static bool ring_room(struct mkchan_chan *chan, struct mkchan_ring *ring)
{
	u64 last = READ_ONCE(ring->cons.head) + chan->slots - 1;
	u64 hdr = READ_ONCE(ring->slots[last & (chan->slots - 1)].hdr);

	return MKCHAN_RING_HDR_SEQ(hdr) != (u32)(last + 1);
}

/*
 * A receiver waits on the wait line of the ring it receives from
 * (ring[end]), a sender for credits on the head of the ring it sends on
 * (ring[!end]); both on wq[end], which the peer's KICK or KICK_CREDITS
 * and the channel's end wake.
 */
static long chan_wait(struct mkchan_chan *chan, unsigned int end,
		      struct mkchan_wait __user *arg)
{
	struct mkchan_wait req;
	struct mkchan_ring *ring;
	bool credits;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~MKCHAN_WAIT_CREDITS)
		return -EINVAL;
	credits = req.flags & MKCHAN_WAIT_CREDITS;
	ring = chan->ring[credits ? !end : end];
#define WOKEN (wait_word(ring, credits) != req.futex || READ_ONCE(chan->state))
	if (req.timeout_ns < 0)
		ret = wait_event_interruptible(chan->wq[end], WOKEN);
	else if (req.timeout_ns == 0)
		ret = WOKEN ? 0 : -ETIME;
	else
		ret = wait_event_interruptible_hrtimeout(chan->wq[end], WOKEN,
							 ns_to_ktime(req.timeout_ns));
#undef WOKEN
	if (ret == -ETIME)
		return -ETIMEDOUT;
	if (ret)
		return -EINTR;	/* not restarted: the caller rechecks the ring */
	return chan_error(chan);
}

static long chan_info(struct mkchan_chan *chan, unsigned int end,
		      struct mkchan_chan_info __user *arg)
{
	struct mkchan_chan_info info = {
		.end = end ? MKCHAN_END_CONNECT : MKCHAN_END_ACCEPT,
		.slots = chan->slots,
		.map_bytes = (u64)chan->nr_pages << PAGE_SHIFT,
		.ring1_offset = (u64)chan->ring_pages << PAGE_SHIFT,
		.cpu = chan->cpu,
		.node = chan->ring_node[end],
	};

	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long chan_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mkchan_chan *chan = file->private_data;
	unsigned int end = end_of(file);
	long ret;

	switch (cmd) {
	case MKCHAN_IOC_CHAN_INFO:
		return chan_info(chan, end, (void __user *)arg);
	case MKCHAN_IOC_KICK:
	case MKCHAN_IOC_KICK_CREDITS:
		/*
		 * The peer waits for messages and for credits on one queue:
		 * each waiter rechecks its own word, so one wake serves both.
		 */
		ret = chan_error(chan);
		if (!ret)
			wake_up(&chan->wq[!end]);
		return ret;
	case MKCHAN_IOC_WAIT:
		return chan_wait(chan, end, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

/*
 * EPOLLIN needs a KICK to be noticed, and the peer kicks only an end that
 * set wait.sleeping in its receiving ring: set it before polling. EPOLLOUT
 * likewise needs a KICK_CREDITS, sent only to an end that set
 * cons.tx_waiting in the ring it sends on. EPOLLOUT means one free slot:
 * a fragmented message may need more, which the ring itself reports.
 */
static __poll_t chan_poll(struct file *file, struct poll_table_struct *pt)
{
	struct mkchan_chan *chan = file->private_data;
	unsigned int end = end_of(file);
	__poll_t mask = 0;
	u32 state;

	poll_wait(file, &chan->wq[end], pt);
	state = READ_ONCE(chan->state);
	if (state == MKCHAN_RING_REVOKED)
		mask |= EPOLLHUP | EPOLLERR;
	else if (state == MKCHAN_RING_CLOSED_PEER)
		mask |= EPOLLHUP;
	else if (ring_room(chan, chan->ring[!end]))
		mask |= EPOLLOUT | EPOLLWRNORM;
	if (ring_ready(chan, chan->ring[end]))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/* Both rings, shared, at offset 0; not inherited across fork. */
static int chan_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mkchan_chan *chan = file->private_data;

	if (vma->vm_pgoff ||
	    vma->vm_end - vma->vm_start != (unsigned long)chan->nr_pages << PAGE_SHIFT)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	mk_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP | VM_DONTCOPY, VM_MAYEXEC);
	return vm_map_pages(vma, chan->pages, chan->nr_pages);
}

/*
 * Closing one end tells the other (which may still drain what was sent).
 * The accepting end also leaves its mailbox's list.
 */
static int chan_release(struct inode *inode, struct file *file)
{
	struct mkchan_chan *chan = file->private_data;

	mutex_lock(&mkchan_lock);
	if (!end_of(file) && chan->mbox) {
		list_del_init(&chan->node);
		chan->mbox = NULL;
	}
	chan_end(chan, MKCHAN_RING_CLOSED_PEER);
	mutex_unlock(&mkchan_lock);
	chan_put(chan);
	return 0;
}

static const struct file_operations mkchan_connect_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= chan_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.poll		= chan_poll,
	.mmap		= chan_mmap,
	.release	= chan_release,
	.llseek		= noop_llseek,
};

static const struct file_operations mkchan_accept_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= chan_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.poll		= chan_poll,
	.mmap		= chan_mmap,
	.release	= chan_release,
	.llseek		= noop_llseek,
};
