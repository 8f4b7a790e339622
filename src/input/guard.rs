//! Reading a map whose file is cut shorter under it, without dying of SIGBUS.
//!
//! A read of a mapped page that lies wholly past the file's end raises SIGBUS; left alone,
//! the signal ends the run (exit 135) when a log is truncated while it is scanned (a live
//! log folder, logrotate `copytruncate`, an `aws s3 sync` still writing). Every map the
//! inputs make is registered here, and a SIGBUS handler checks whether the faulting address
//! lies inside one of them. If it does, the handler maps anonymous zero pages over the map
//! from the faulting page to its end (`mmap(MAP_FIXED | MAP_ANONYMOUS)`: one system call,
//! which does not allocate or lock) and records the page's offset; the faulting read is then
//! restarted by the kernel and reads zeros, and so does every later read of that range (one
//! signal per cut, not per page). The reader asks [`failed_at`] after each chunk and
//! discards what it read from there on. A SIGBUS anywhere else goes to the handler that was
//! there before (the standard library's), or to the default action.
//!
//! Why this is sound:
//! - The handler only loads atomics, makes the `mmap` system call and stores atomics: all
//!   async-signal-safe (`errno` is saved and restored around the call).
//! - A fault inside a map means a thread is reading it, so the map is alive (its owner
//!   cannot unmap it while a borrow is being read) and registered (registration happens
//!   before the map is handed out, removal before it is unmapped). Live maps never overlap,
//!   so the only registered range that can hold the address is that map's. Slots are read
//!   under a sequence count, so a slot being reused is never read half old, half new.
//! - The zero pages replace only pages at or after the faulting page, which at the moment of
//!   the fault lie past the file's end: nothing still readable from the file is hidden.
//!   They are unmapped with the rest of the map.
//! - The bytes under a `&[u8]` of a shared file map can change whenever another process
//!   writes the file; that was already the accepted condition of reading through a map.
//!   The handler adds one change (from "unreadable" to zeros) that the reader then detects.
//!
//! The table holds up to [`BLOCK`] × [`BLOCKS`] maps at once (more than the kernel's default
//! `vm.max_map_count`); a map beyond that is not registered and keeps the old behaviour.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, Once};

const BLOCK: usize = 1024;
const BLOCKS: usize = 256;
const NONE: usize = usize::MAX;

/// One registered map: its address range and the lowest faulting offset.
struct Slot {
    /// Odd while the slot is being written.
    seq: AtomicUsize,
    start: AtomicUsize,
    len: AtomicUsize,
    /// Offset (page-aligned) of the lowest page replaced by zeros, or [`NONE`].
    fault: AtomicUsize,
}

type Block = [Slot; BLOCK];

static TABLE: [AtomicPtr<Block>; BLOCKS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; BLOCKS];
/// Slots ever handed out (the handler looks at these).
static USED: AtomicUsize = AtomicUsize::new(0);
/// Slots handed back, for reuse (only touched outside the handler).
static FREE: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static PAGE: AtomicUsize = AtomicUsize::new(4096);
static INSTALL: Once = Once::new();

fn slot(i: usize) -> Option<&'static Slot> {
    let block = TABLE.get(i / BLOCK)?.load(SeqCst);
    // SAFETY: blocks are allocated once and never freed.
    (!block.is_null()).then(|| unsafe { &(*block)[i % BLOCK] })
}

/// A registered map's handle: its slot, handed back on drop.
#[derive(Debug)]
pub(crate) struct Registered(usize);

/// Registers the map at `start..start + len` (before it is read), installing the handler on
/// first use. `None` when the table is full.
pub(crate) fn register(start: usize, len: usize) -> Option<Registered> {
    install();
    let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
    let i = match free.pop() {
        Some(i) => i,
        None => {
            let i = USED.load(SeqCst);
            let b = i / BLOCK;
            if b >= BLOCKS {
                return None;
            }
            if TABLE[b].load(SeqCst).is_null() {
                let block: Box<Block> = Box::new(std::array::from_fn(|_| Slot {
                    seq: AtomicUsize::new(0),
                    start: AtomicUsize::new(0),
                    len: AtomicUsize::new(0),
                    fault: AtomicUsize::new(NONE),
                }));
                TABLE[b].store(Box::into_raw(block), SeqCst);
            }
            USED.store(i + 1, SeqCst);
            i
        }
    };
    drop(free);
    let s = slot(i)?;
    s.seq.fetch_add(1, SeqCst);
    s.fault.store(NONE, SeqCst);
    s.len.store(len, SeqCst);
    s.start.store(start, SeqCst);
    s.seq.fetch_add(1, SeqCst);
    Some(Registered(i))
}

impl Registered {
    /// The offset from which the map reads zeros (a read there failed), if any.
    pub(crate) fn failed_at(&self) -> Option<usize> {
        let f = slot(self.0)?.fault.load(SeqCst);
        (f != NONE).then_some(f)
    }
}

impl Drop for Registered {
    /// Call before the map is unmapped (the owner's `Drop` runs before its fields').
    fn drop(&mut self) {
        if let Some(s) = slot(self.0) {
            s.seq.fetch_add(1, SeqCst);
            s.start.store(0, SeqCst);
            s.len.store(0, SeqCst);
            s.seq.fetch_add(1, SeqCst);
        }
        FREE.lock().unwrap_or_else(|e| e.into_inner()).push(self.0);
    }
}

/// The action that was in place before ours (the standard library's stack-overflow
/// reporter, or the default). Written once, before our handler can run.
static mut PREVIOUS: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::uninit();

fn install() {
    INSTALL.call_once(|| {
        // SAFETY: plain libc calls; `PREVIOUS` is written before the handler is installed
        // (the same `sigaction` call) and only read by the handler afterwards.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE);
            if page > 0 {
                PAGE.store(page as usize, SeqCst);
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let previous = std::ptr::addr_of_mut!(PREVIOUS).cast::<libc::sigaction>();
            libc::sigaction(libc::SIGBUS, &action, previous);
        }
    });
}

/// Replaces the rest of the registered map holding `addr` with zero pages. False when `addr`
/// is in none of them (or the replacement failed).
fn absorb(addr: usize) -> bool {
    let page = PAGE.load(SeqCst);
    for i in 0..USED.load(SeqCst) {
        let Some(s) = slot(i) else { continue };
        let (start, len) = loop {
            let before = s.seq.load(SeqCst);
            let start = s.start.load(SeqCst);
            let len = s.len.load(SeqCst);
            if before % 2 == 0 && s.seq.load(SeqCst) == before {
                break (start, len);
            }
            std::hint::spin_loop();
        };
        let end = (start + len).div_ceil(page) * page;
        if start == 0 || addr < start || addr >= end {
            continue;
        }
        let from = addr / page * page;
        // SAFETY: `from..end` lies inside a live map of ours (see the module doc); the new
        // pages are read-only zeros.
        let r = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if r == libc::MAP_FAILED {
            return false;
        }
        s.fault.fetch_min(from - start, SeqCst);
        return true;
    }
    false
}

extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo; errno is this thread's.
    unsafe {
        let errno = *libc::__errno_location();
        let ours = !info.is_null() && absorb((*info).si_addr() as usize);
        if !ours {
            let previous = &*std::ptr::addr_of!(PREVIOUS).cast::<libc::sigaction>();
            let handler = previous.sa_sigaction;
            if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
                // The default action: put it back; the faulting read runs again and the
                // signal then ends the process as it would have.
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigemptyset(&mut dfl.sa_mask);
                libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
            } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(handler);
                f(sig, info, ctx);
            } else {
                let f: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
                f(sig);
            }
        }
        *libc::__errno_location() = errno;
    }
}
