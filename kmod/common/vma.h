/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What both mk modules need from a VMA, on every kernel they build for.
 *
 * Since 6.3 vma->vm_flags is const and changes go through vm_flags_*(),
 * which take the mmap write lock assertion and keep the per-VMA lock in
 * step; before 6.3 the field is written directly. One helper, so neither
 * module has its own #if and both build on Debian's 6.1 and 6.12.
 */
#ifndef MK_KMOD_COMMON_VMA_H
#define MK_KMOD_COMMON_VMA_H

#include <linux/mm.h>
#include <linux/version.h>

static inline void mk_vm_flags_mod(struct vm_area_struct *vma,
				   unsigned long set, unsigned long clear)
{
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

#endif
