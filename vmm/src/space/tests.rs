//! Unit and property tests of the address space, on guest RAM and page
//! tables alone (no KVM).

use super::*;
use crate::arch::paging::{translate, Access};
use crate::usermem::UserMemory;
use microvm_abi::layout::{KERNEL_BASE, MIN_MEMORY};
use proptest::prelude::*;

fn space_with(memory: u64) -> (GuestRam, AddressSpace) {
    let ram = GuestRam::new(memory).unwrap();
    let mut tables = PageTables::new();
    // A kernel page, as the VM maps them, so that checks see both halves.
    tables
        .map(
            &ram,
            KERNEL_BASE + 0x20_0000,
            0x20_0000,
            PageFlags::KERNEL_RO,
        )
        .unwrap();
    (ram, AddressSpace::new(tables, FrameAllocator::new(memory)))
}

fn space() -> (GuestRam, AddressSpace) {
    space_with(MIN_MEMORY)
}

const RO: PageFlags = PageFlags {
    write: false,
    exec: false,
    user: true,
};

const RX: PageFlags = PageFlags {
    write: false,
    exec: true,
    user: true,
};

#[test]
fn map_protect_unmap() {
    let (ram, mut s) = space();
    let root = s.tables().root();
    s.map(&ram, 0x1000_0000, 0x1000_2000, PageFlags::USER_RW)
        .unwrap();
    assert!(translate(&ram, root, 0x1000_1fff, Access::UserWrite).is_some());
    s.protect(&ram, 0x1000_0000, 0x1000_1000, Some(RO)).unwrap();
    assert!(translate(&ram, root, 0x1000_0000, Access::UserWrite).is_none());
    assert!(translate(&ram, root, 0x1000_0000, Access::UserRead).is_some());
    assert_eq!(s.map_count(), 2);
    s.protect(&ram, 0x1000_0000, 0x1000_1000, None).unwrap();
    assert!(translate(&ram, root, 0x1000_0000, Access::UserRead).is_none());
    assert_eq!(
        s.protect(&ram, 0x2000_0000, 0x2000_1000, None),
        Err(MapError::NotMapped)
    );
    let before = s.free_frames();
    s.unmap(&ram, 0x1000_0000, 0x1000_2000).unwrap();
    assert_eq!(s.free_frames(), before + 2);
    assert!(translate(&ram, root, 0x1000_1000, Access::UserRead).is_none());
    assert_eq!(s.map_count(), 0);
    s.check(&ram).unwrap();
}

#[test]
fn contents_survive_prot_none_and_back() {
    let (ram, mut s) = space();
    s.map(&ram, 0x1000_0000, 0x1000_1000, PageFlags::USER_RW)
        .unwrap();
    s.copy_in(&ram, 0x1000_0000, b"kept").unwrap();
    s.protect(&ram, 0x1000_0000, 0x1000_1000, None).unwrap();
    s.protect(&ram, 0x1000_0000, 0x1000_1000, Some(RO)).unwrap();
    let phys = translate(&ram, s.tables().root(), 0x1000_0000, Access::UserRead).unwrap();
    assert_eq!(ram.read_obj::<[u8; 4]>(phys).unwrap(), *b"kept");
}

#[test]
fn reused_frames_are_zeroed() {
    let (ram, mut s) = space();
    s.map(&ram, 0x1000_0000, 0x1000_1000, PageFlags::USER_RW)
        .unwrap();
    s.copy_in(&ram, 0x1000_0000, b"secret").unwrap();
    s.unmap(&ram, 0x1000_0000, 0x1000_1000).unwrap();
    s.map(&ram, 0x2000_0000, 0x2000_1000, PageFlags::USER_RW)
        .unwrap();
    let phys = translate(&ram, s.tables().root(), 0x2000_0000, Access::UserRead).unwrap();
    assert_eq!(ram.read_obj::<u64>(phys).unwrap(), 0);
}

#[test]
fn find_free_prefers_hint_then_top_down() {
    let (ram, mut s) = space();
    assert_eq!(s.find_free(0x1000_0000, 0x2000), Some(0x1000_0000));
    let a = s.find_free(0, 0x3000).unwrap();
    assert_eq!(a, MMAP_TOP - 0x3000);
    s.map(&ram, a, a + 0x3000, PageFlags::USER_RW).unwrap();
    assert_eq!(s.find_free(0, 0x1000), Some(a - 0x1000));
    assert_eq!(
        s.find_free(a, 0x1000),
        Some(a - 0x1000),
        "a used hint is skipped"
    );
}

#[test]
fn nothing_is_mapped_below_mmap_min_addr() {
    let (ram, mut s) = space();
    assert_eq!(s.find_free(0x1000, 0x1000), Some(MMAP_MIN_ADDR));
    assert_eq!(s.find_free(MMAP_MIN_ADDR - 1, 0x1000), Some(MMAP_MIN_ADDR));
    for start in [0, 0x1000, MMAP_MIN_ADDR - 0x1000] {
        assert_eq!(
            s.map(&ram, start, start + 0x2000, PageFlags::USER_RW),
            Err(MapError::OutOfRange)
        );
        assert_eq!(s.reserve(start, start + 0x2000), Err(MapError::OutOfRange));
    }
    assert_eq!(
        s.map(&ram, USER_TOP - 0x1000, USER_TOP + 0x1000, RO),
        Err(MapError::OutOfRange)
    );
    // Unmapping there is fine (nothing is mapped), as on Linux.
    s.unmap(&ram, 0x1000, 0x2000).unwrap();
    assert_eq!(s.map_count(), 0);
    s.check(&ram).unwrap();
}

#[test]
fn reservations_are_ranges() {
    let (ram, mut s) = space();
    let big = 1 << 30;
    let a = s.find_free(0, big).unwrap();
    s.reserve(a, a + big).unwrap();
    assert!(s.overlaps(a + 0x1000, a + 0x2000));
    assert_eq!(s.find_free(0, 0x1000), Some(a - 0x1000));
    let root = s.tables().root();
    // mprotect part of it: those pages get frames, the rest stays reserved.
    s.protect(&ram, a + 0x10000, a + 0x12000, Some(PageFlags::USER_RW))
        .unwrap();
    assert_eq!(s.map_count(), 3);
    assert!(translate(&ram, root, a + 0x11000, Access::UserWrite).is_some());
    assert!(translate(&ram, root, a + 0x12000, Access::UserRead).is_none());
    assert!(s.overlaps(a, a + 0x1000) && s.overlaps(a + 0x20000, a + 0x21000));
    s.check(&ram).unwrap();
    s.unmap(&ram, a, a + big).unwrap();
    assert!(!s.overlaps(a, a + big));
    assert_eq!(
        s.protect(&ram, a, a + 0x1000, None),
        Err(MapError::NotMapped)
    );
    assert_eq!(s.frames_in_use(), 0);
}

/// Finding 2: a reservation of most of user space costs one mapping, and
/// changing it is immediate; making 16 GiB accessible in a small guest
/// fails at once, changing nothing.
#[test]
fn huge_reservations_are_cheap_and_bounded() {
    let (ram, mut s) = space();
    let t = std::time::Instant::now();
    let len = 64u64 << 40;
    let a = s.find_free(0, len).unwrap();
    s.reserve(a, a + len).unwrap();
    s.protect(&ram, a, a + len, None).unwrap();
    let free = s.free_frames();
    let sixteen = 16 << 30;
    assert_eq!(
        s.protect(&ram, a, a + sixteen, Some(RO)),
        Err(MapError::NoMemory)
    );
    assert_eq!(s.mapping_at(a), Some((a, a + len, None)), "unchanged");
    assert_eq!(s.free_frames(), free);
    assert_eq!(s.map(&ram, a - sixteen, a, RO), Err(MapError::NoMemory));
    // A little of it, in the middle: three mappings, then one again.
    s.protect(&ram, a + sixteen, a + sixteen + 0x4000, Some(RO))
        .unwrap();
    assert_eq!(s.map_count(), 3);
    s.protect(&ram, a, a + len, None).unwrap();
    assert_eq!(s.map_count(), 1);
    assert_eq!(s.frames_in_use(), 4, "frames are kept under PROT_NONE");
    s.unmap(&ram, a, a + len).unwrap();
    assert_eq!((s.map_count(), s.frames_in_use()), (0, 0));
    assert!(
        t.elapsed() < std::time::Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    s.check(&ram).unwrap();
}

/// Finding 2: the map count stops at Linux's vm.max_map_count.
#[test]
fn map_count_is_limited() {
    let (ram, mut s) = space();
    let base = 0x1_0000_0000u64;
    // Mappings with a page between them: none can merge.
    for i in 0..MAX_MAP_COUNT as u64 {
        let at = base + i * 2 * PAGE_SIZE;
        s.reserve(at, at + PAGE_SIZE).unwrap();
    }
    assert_eq!(s.map_count(), MAX_MAP_COUNT);
    let past = base + MAX_MAP_COUNT as u64 * 2 * PAGE_SIZE;
    assert_eq!(
        s.reserve(past, past + PAGE_SIZE),
        Err(MapError::TooManyMappings)
    );
    assert_eq!(
        s.map(&ram, past, past + PAGE_SIZE, RO),
        Err(MapError::TooManyMappings)
    );
    // Filling a gap merges three into one: allowed.
    s.reserve(base + PAGE_SIZE, base + 2 * PAGE_SIZE).unwrap();
    assert_eq!(s.map_count(), MAX_MAP_COUNT - 1);
    // Splitting one in three needs two more: refused, then allowed.
    let r = s.protect(&ram, base, base + 3 * PAGE_SIZE, Some(RO));
    assert_eq!(r, Ok(()));
    s.reserve(past, past + PAGE_SIZE).unwrap();
    assert_eq!(
        s.protect(&ram, base + PAGE_SIZE, base + 2 * PAGE_SIZE, None),
        Err(MapError::TooManyMappings)
    );
    assert_eq!(
        s.unmap(&ram, base + PAGE_SIZE, base + 2 * PAGE_SIZE),
        Err(MapError::TooManyMappings)
    );
    assert_eq!(s.map_count(), MAX_MAP_COUNT);
    s.check(&ram).unwrap();
}

/// Finding 6: mapping and unmapping a page at 1 GiB strides (a new page
/// directory and page table each time) goes on for ever: emptied tables
/// are given back and used again.
#[test]
fn emptied_page_tables_are_reused() {
    let (ram, mut s) = space();
    let baseline = s.tables().tables_in_use();
    let free = s.free_frames();
    for i in 0..2000u64 {
        let a = 0x40_0000_0000 + (i << 30);
        s.map(&ram, a, a + PAGE_SIZE, PageFlags::USER_RW)
            .unwrap_or_else(|e| panic!("cycle {i}: {e}"));
        assert!(s.tables().tables_in_use() <= baseline + 3);
        s.unmap(&ram, a, a + PAGE_SIZE).unwrap();
        assert_eq!(s.tables().tables_in_use(), baseline, "cycle {i}");
    }
    assert!(s.find_free(0, PAGE_SIZE).is_some());
    let a = s.find_free(0, PAGE_SIZE).unwrap();
    s.map(&ram, a, a + PAGE_SIZE, PageFlags::USER_RW).unwrap();
    s.unmap(&ram, a, a + PAGE_SIZE).unwrap();
    assert_eq!(s.free_frames(), free);
}

/// A table unlinked is linked again only after KVM's shadow tables were
/// dropped (a shadow-paging KVM would otherwise let the old addresses
/// reach the new place: seen on KVM-PVM), and never while in use.
#[test]
fn unlinked_tables_wait_for_a_shadow_flush() {
    use crate::arch::paging::walk;
    use std::collections::{HashMap, HashSet};
    let (ram, mut s) = space();
    let linked = |s: &AddressSpace| -> HashSet<u64> {
        walk(&ram, s.tables().root())
            .unwrap()
            .1
            .into_iter()
            .collect()
    };
    // Table -> the flush count when it was unlinked.
    let mut unlinked: HashMap<u64, u64> = HashMap::new();
    let mut before = linked(&s);
    for i in 0..400u64 {
        let a = 0x40_0000_0000 + (i << 30);
        s.map(&ram, a, a + PAGE_SIZE, PageFlags::USER_RW).unwrap();
        let now = linked(&s);
        for t in now.difference(&before) {
            if let Some(&at) = unlinked.get(t) {
                assert!(
                    ram.shadow_flushes() > at,
                    "cycle {i}: {t:#x} relinked unflushed"
                );
            }
        }
        if i % 100 == 0 {
            s.check(&ram).unwrap();
        }
        s.unmap(&ram, a, a + PAGE_SIZE).unwrap();
        before = linked(&s);
        for t in now.difference(&before) {
            unlinked.insert(*t, ram.shadow_flushes());
        }
    }
    assert!(ram.shadow_flushes() > 0, "400 cycles must reuse tables");
}

/// Finding 6: many scattered pages need more tables than the pool holds;
/// they come from guest memory, and only guest memory limits them.
#[test]
fn page_tables_grow_past_the_pool() {
    let (ram, mut s) = space_with(64 << 20);
    let free = s.free_frames();
    for i in 0..600u64 {
        let a = 0x40_0000_0000 + (i << 30);
        s.map(&ram, a, a + PAGE_SIZE, RX).unwrap();
    }
    assert!(s.tables().tables_in_use() > 1200);
    s.check(&ram).unwrap();
    s.unmap(&ram, 0, USER_TOP).unwrap();
    assert_eq!(s.tables().tables_in_use(), 2 + 2, "the kernel page's");
    assert_eq!(s.free_frames(), free);
    // In a small guest they run out: ENOMEM, not a failure of the pool.
    let (ram, mut s) = space();
    let err = (0..2000u64).find_map(|i| {
        let a = 0x40_0000_0000 + (i << 30);
        s.map(&ram, a, a + PAGE_SIZE, RX).err()
    });
    assert_eq!(err, Some(MapError::NoMemory));
    s.check(&ram).unwrap();
}

#[test]
fn brk_grows_and_shrinks() {
    let (ram, mut s) = space();
    s.set_brk_start(0x60_0123);
    assert_eq!(s.brk(&ram, 0), 0x60_1000);
    assert_eq!(s.brk(&ram, 0x60_5000), 0x60_5000);
    assert!(translate(&ram, s.tables().root(), 0x60_4fff, Access::UserWrite).is_some());
    assert_eq!(s.brk(&ram, 0x60_2000), 0x60_2000);
    assert!(translate(&ram, s.tables().root(), 0x60_3000, Access::UserRead).is_none());
    assert_eq!(s.brk(&ram, 0x10), 0x60_2000, "below the start: unchanged");
    s.check(&ram).unwrap();
}

// ---- property tests ----

/// Where the operations land: a few windows, so that they overlap each
/// other, straddle table boundaries, and touch both ends of user space.
const WINDOWS: [u64; 5] = [
    MMAP_MIN_ADDR,             // the lowest user page
    0x4000_0000 - 0x2_0000,    // across a 1 GiB boundary
    0x80_0000_0000 - 0x4_0000, // across a 512 GiB boundary
    0x1000_0000,               // a 2 MiB-aligned place
    USER_TOP - 0x40_0000,      // the top of user space
];

#[derive(Debug, Clone)]
enum Op {
    Map(u64, u64, PageFlags),
    Reserve(u64, u64),
    Unmap(u64, u64),
    Protect(u64, u64, Prot),
    /// MAP_FIXED: unmap, then map.
    Fixed(u64, u64, Prot),
}

fn flags() -> impl Strategy<Value = PageFlags> {
    (any::<bool>(), any::<bool>()).prop_map(|(write, exec)| PageFlags {
        write,
        exec,
        user: true,
    })
}

fn prot() -> impl Strategy<Value = Prot> {
    prop_oneof![Just(None), flags().prop_map(Some)]
}

/// A range in one of the windows, `[start, end)`, sometimes huge.
fn range() -> impl Strategy<Value = (u64, u64)> {
    (0..WINDOWS.len(), 0u64..96, 1u64..48, 0u32..20).prop_map(|(w, off, len, huge)| {
        let start = WINDOWS[w] + off * PAGE_SIZE;
        let len = if huge == 0 { 1 << 40 } else { len * PAGE_SIZE };
        (start, start.saturating_add(len))
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (range(), flags()).prop_map(|((s, e), f)| Op::Map(s, e, f)),
        range().prop_map(|(s, e)| Op::Reserve(s, e)),
        range().prop_map(|(s, e)| Op::Unmap(s, e)),
        (range(), prot()).prop_map(|((s, e), p)| Op::Protect(s, e, p)),
        (range(), prot()).prop_map(|((s, e), p)| Op::Fixed(s, e, p)),
    ]
}

/// The obvious model: a page -> rights map, updated page by page (ranges
/// it is given are small, or fail before touching it).
#[derive(Default)]
struct Model(BTreeMap<u64, Prot>);

impl Model {
    fn pages(s: u64, e: u64) -> impl Iterator<Item = u64> {
        (s..e).step_by(PAGE_SIZE as usize)
    }

    fn apply(&mut self, op: &Op, ok: bool) {
        if let Op::Fixed(s, e, _) = *op {
            // MAP_FIXED unmaps first, whether the mapping then fails or not.
            if AddressSpace::user_range(s, e).is_ok() {
                self.apply(&Op::Unmap(s, e), true);
            }
        }
        if !ok {
            return;
        }
        match *op {
            Op::Map(s, e, f) => {
                for p in Self::pages(s, e) {
                    let cur = self.0.get(&p).copied().flatten();
                    self.0.insert(p, Some(cur.map_or(f, |c| c.union(f))));
                }
            }
            Op::Reserve(s, e) => Self::pages(s, e).for_each(|p| {
                self.0.insert(p, None);
            }),
            Op::Unmap(s, e) => {
                let gone: Vec<u64> = self.0.range(s..e).map(|(&p, _)| p).collect();
                gone.iter().for_each(|p| {
                    self.0.remove(p);
                });
            }
            Op::Protect(s, e, p) | Op::Fixed(s, e, p) => Self::pages(s, e).for_each(|pg| {
                self.0.insert(pg, p);
            }),
        }
    }
}

/// Run `op` on the space; true when it changed it.
fn run(s: &mut AddressSpace, ram: &GuestRam, op: &Op) -> bool {
    match *op {
        Op::Map(a, e, f) => s.map(ram, a, e, f).is_ok(),
        Op::Reserve(a, e) => !s.overlaps(a, e) && s.reserve(a, e).is_ok(),
        Op::Unmap(a, e) => s.unmap(ram, a, e).is_ok(),
        Op::Protect(a, e, p) => s.protect(ram, a, e, p).is_ok(),
        Op::Fixed(a, e, p) => {
            if AddressSpace::user_range(a, e).is_err() {
                return false;
            }
            s.unmap(ram, a, e).unwrap();
            match p {
                Some(f) => s.map(ram, a, e, f).is_ok(),
                None => s.reserve(a, e).is_ok(),
            }
        }
    }
}

fn is_small(op: &Op) -> bool {
    let (Op::Map(s, e, _)
    | Op::Reserve(s, e)
    | Op::Unmap(s, e)
    | Op::Protect(s, e, _)
    | Op::Fixed(s, e, _)) = *op;
    e - s < 1 << 30
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any sequence of mmap/munmap/mprotect/MAP_FIXED keeps the page tables
    /// equal to the mappings, page for page, keeps the invariants, and
    /// freeing everything gives back every frame and table.
    #[test]
    fn operations_keep_tables_and_mappings_in_step(ops in proptest::collection::vec(op(), 1..24)) {
        let (ram, mut s) = space();
        let (free, tables) = (s.free_frames(), s.tables().tables_in_use());
        let mut model = Model::default();
        for op in &ops {
            let ok = run(&mut s, &ram, op);
            if is_small(op) {
                model.apply(op, ok);
            } else if let (Op::Fixed(a, e, _), false) = (op, ok) {
                model.apply(&Op::Fixed(*a, *e, None), false);
            } else if ok {
                // A huge range: only PROT_NONE, unmapping and failures are
                // cheap enough to succeed; follow them in the model.
                match *op {
                    Op::Unmap(a, e) | Op::Fixed(a, e, None) | Op::Reserve(a, e) | Op::Protect(a, e, None) => {
                        let gone: Vec<u64> = model.0.range(a..e).map(|(&p, _)| p).collect();
                        gone.iter().for_each(|p| { model.0.remove(p); });
                    }
                    _ => prop_assert!(false, "{op:?} succeeded"),
                }
            }
            prop_assert_eq!(s.check(&ram), Ok(()), "after {:?}", op);
            prop_assert!(s.map_count() <= MAX_MAP_COUNT);
            // The model's pages (small ranges only) agree with the mappings.
            for (&p, &want) in &model.0 {
                prop_assert_eq!(s.mapping_at(p).map(|m| m.2), Some(want), "page {:#x} after {:?}", p, op);
            }
        }
        s.unmap(&ram, 0, USER_TOP).unwrap();
        prop_assert_eq!(s.map_count(), 0);
        prop_assert_eq!(s.frames_in_use(), 0);
        prop_assert_eq!(s.free_frames(), free);
        prop_assert_eq!(s.tables().tables_in_use(), tables);
        prop_assert_eq!(s.check(&ram), Ok(()));
    }

    /// For any range, UserMemory reads exactly the bytes of the mapped
    /// pages when every page is readable (writes when every page is
    /// writable), and faults otherwise: never a byte of anything else.
    #[test]
    fn user_memory_yields_mapped_bytes_or_faults(
        ops in proptest::collection::vec(op(), 1..12),
        probes in proptest::collection::vec(
            (prop_oneof![
                range().prop_map(|(s, _)| s),
                Just(KERNEL_BASE + 0x20_0000),
                Just(USER_TOP - 8),
                Just(0x8000_0000_0000u64),
                Just(u64::MAX - 16),
            ], -64i64..64, 0u64..3 * PAGE_SIZE),
            1..16),
    ) {
        let (ram, mut s) = space();
        for op in &ops {
            run(&mut s, &ram, op);
        }
        // Mark every user frame with its virtual address.
        let backed: Vec<(u64, u64)> = s.backing.iter().map(|(&v, &f)| (v, f)).collect();
        for &(v, f) in &backed {
            let bytes: Vec<u8> = (0..PAGE_SIZE).map(|i| pattern(v + i)).collect();
            ram.write(f, &bytes).unwrap();
        }
        // The kernel page holds something else.
        ram.write(0x20_0000, &[0xee; PAGE_SIZE as usize]).unwrap();
        let mem = UserMemory::new(&ram, s.tables().root());
        for (base, delta, len) in probes {
            let addr = base.wrapping_add_signed(delta);
            let end = addr.checked_add(len);
            let readable = end.is_some_and(|end| {
                (addr..end).step_by(1).all(|a| s.flags_at(a).is_some() && (MMAP_MIN_ADDR..USER_TOP).contains(&a))
            });
            let writable = readable
                && (addr..end.unwrap_or(addr)).all(|a| s.flags_at(a).is_some_and(|f| f.write));
            let mut buf = vec![0u8; len as usize];
            match mem.read(addr, &mut buf) {
                Ok(()) => {
                    prop_assert!(readable, "read {addr:#x}+{len} should fault");
                    for (i, &b) in buf.iter().enumerate() {
                        prop_assert_eq!(b, pattern(addr + i as u64));
                    }
                }
                Err(f) => {
                    prop_assert!(!readable, "read {addr:#x}+{len} faulted at {:#x}", f.addr);
                    prop_assert!(buf.iter().all(|&b| b == 0), "a failed read copied bytes");
                }
            }
            let w = mem.write(addr, &buf);
            prop_assert_eq!(w.is_ok(), writable, "write {:#x}+{}", addr, len);
        }
        prop_assert_eq!(ram.read_obj::<u8>(0x20_0000).unwrap(), 0xee);
    }
}

fn pattern(virt: u64) -> u8 {
    (virt ^ (virt >> 12) ^ (virt >> 24)) as u8 | 1
}

/// A file of `len` bytes, byte i = i % 251.
#[derive(Debug)]
struct Pattern(u64);

impl FileSource for Pattern {
    fn identity(&self) -> usize {
        self as *const Pattern as usize
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let n = (self.0.saturating_sub(offset) as usize).min(buf.len());
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = ((offset + i as u64) % 251) as u8;
        }
        Ok(n)
    }
}

fn byte_at(ram: &GuestRam, s: &AddressSpace, addr: u64) -> u8 {
    let phys = translate(ram, s.tables().root(), addr, Access::UserRead).unwrap();
    ram.read_obj::<u8>(phys).unwrap()
}

#[test]
fn file_pages_are_read_in_and_read_again_after_dont_need() {
    let (ram, mut s) = space();
    let (a, len) = (0x1000_0000, 3 * PAGE_SIZE);
    let file = std::sync::Arc::new(Pattern(PAGE_SIZE + 10));
    s.map(&ram, a, a + len, RO).unwrap();
    s.fill_from(&ram, a, a + len, file.as_ref(), PAGE_SIZE / 2)
        .unwrap();
    s.set_file(a, a + len, file.clone(), PAGE_SIZE / 2);
    assert_eq!(byte_at(&ram, &s, a), ((PAGE_SIZE / 2) % 251) as u8);
    // Past the end of the file: zero.
    let eof = a + PAGE_SIZE / 2 + 10;
    assert_eq!(byte_at(&ram, &s, eof), 0);
    assert_eq!(byte_at(&ram, &s, a + 2 * PAGE_SIZE), 0);
    s.copy_in(&ram, a + 1, b"dirty").unwrap();
    s.dont_need(&ram, a, a + len).unwrap();
    assert_eq!(byte_at(&ram, &s, a + 1), ((PAGE_SIZE / 2 + 1) % 251) as u8);
    // An anonymous page becomes zero.
    s.map(&ram, 0x2000_0000, 0x2000_1000, PageFlags::USER_RW)
        .unwrap();
    s.copy_in(&ram, 0x2000_0000, b"x").unwrap();
    s.dont_need(&ram, 0x2000_0000, 0x2000_1000).unwrap();
    assert_eq!(byte_at(&ram, &s, 0x2000_0000), 0);
    // Unmapping the middle page splits what the file backs.
    s.unmap(&ram, a + PAGE_SIZE, a + 2 * PAGE_SIZE).unwrap();
    assert!(s.file_at(a + PAGE_SIZE).is_none());
    let (_, off) = s.file_at(a + 2 * PAGE_SIZE).unwrap();
    assert_eq!(off, PAGE_SIZE / 2 + 2 * PAGE_SIZE);
    assert_eq!(s.file_count(), 2);
    s.check(&ram).unwrap();
}

#[test]
fn a_moved_range_keeps_its_frames_rights_and_file() {
    let (ram, mut s) = space();
    let (a, b) = (0x1000_0000, 0x3000_0000);
    s.map(&ram, a, a + 2 * PAGE_SIZE, PageFlags::USER_RW)
        .unwrap();
    s.copy_in(&ram, a + PAGE_SIZE, b"moved").unwrap();
    s.set_file(
        a,
        a + 2 * PAGE_SIZE,
        std::sync::Arc::new(Pattern(1 << 20)),
        0,
    );
    let frames = s.frames_in_use();
    s.move_range(&ram, a, 2 * PAGE_SIZE, b).unwrap();
    assert_eq!(s.frames_in_use(), frames, "no frame copied or lost");
    assert_eq!(byte_at(&ram, &s, b + PAGE_SIZE), b'm');
    assert!(translate(&ram, s.tables().root(), b, Access::UserWrite).is_some());
    assert!(s.mapping_at(a).is_none());
    assert!(s.file_at(a).is_none());
    assert_eq!(s.file_at(b + PAGE_SIZE).unwrap().1, PAGE_SIZE);
    // Not onto a used range, nor from one not mapped.
    s.map(&ram, a, a + PAGE_SIZE, RO).unwrap();
    assert_eq!(
        s.move_range(&ram, b, PAGE_SIZE, a),
        Err(MapError::OutOfRange)
    );
    assert_eq!(
        s.move_range(&ram, 0x5000_0000, PAGE_SIZE, 0x6000_0000),
        Err(MapError::NotMapped)
    );
    s.check(&ram).unwrap();
}

#[test]
fn a_file_span_is_clean_until_its_pages_could_be_written() {
    let (ram, mut s) = space();
    let a = 0x1000_0000;
    let file: std::sync::Arc<dyn FileSource> = std::sync::Arc::new(Pattern(1 << 20));
    let other: std::sync::Arc<dyn FileSource> = std::sync::Arc::new(Pattern(1 << 20));
    s.map(&ram, a, a + 4 * PAGE_SIZE, RO).unwrap();
    s.set_file(a, a + 4 * PAGE_SIZE, file.clone(), 0x10_000);
    let id = file.identity();
    assert!(s.holds_clean_file(a + PAGE_SIZE, a + 3 * PAGE_SIZE, id, 0x11_000, true));
    // Another offset, another file, past the span, another kind.
    assert!(!s.holds_clean_file(a + PAGE_SIZE, a + 2 * PAGE_SIZE, id, 0x10_000, true));
    assert!(!s.holds_clean_file(a, a + PAGE_SIZE, other.identity(), 0x10_000, true));
    assert!(!s.holds_clean_file(a, a + 5 * PAGE_SIZE, id, 0x10_000, true));
    assert!(!s.holds_clean_file(a, a + PAGE_SIZE, id, 0x10_000, false));
    s.mark_dirty(a + 3 * PAGE_SIZE, a + 4 * PAGE_SIZE);
    assert!(!s.holds_clean_file(a, a + PAGE_SIZE, id, 0x10_000, true));
    // Mapped again, it is clean again.
    s.set_file(a, a + PAGE_SIZE, file, 0x10_000);
    assert!(s.holds_clean_file(a, a + PAGE_SIZE, id, 0x10_000, true));
}

#[test]
fn the_vdso_is_never_cut_in_two() {
    let (ram, mut s) = space();
    let (vvar, base, end) = (0x7000_0000, 0x7000_4000, 0x7000_6000);
    s.map(&ram, vvar, base, RO).unwrap();
    s.map(&ram, base, end, RX).unwrap();
    s.set_vdso(crate::vdso::VdsoMapping { vvar, base, end });
    let before = s.free_frames();
    // Half of [vvar], half of [vdso], across their end: refused, nothing
    // changed.
    for (a, b) in [
        (vvar, vvar + PAGE_SIZE),
        (base + PAGE_SIZE, end),
        (base - PAGE_SIZE, base + PAGE_SIZE),
        (vvar - PAGE_SIZE, vvar + PAGE_SIZE),
    ] {
        assert!(s.splits_vdso(a, b));
        assert_eq!(s.unmap(&ram, a, b), Err(MapError::SplitsVdso));
    }
    assert_eq!(
        s.protect(&ram, base, base + PAGE_SIZE, Some(RO)),
        Err(MapError::SplitsVdso)
    );
    assert_eq!(s.free_frames(), before);
    assert_eq!(s.flags_at(base + PAGE_SIZE), Some(RX));
    assert_eq!(s.vdso(), Some(crate::vdso::VdsoMapping { vvar, base, end }));
    // Whole ones may change: the image made read-only, then both unmapped.
    assert!(!s.splits_vdso(base, end));
    s.protect(&ram, base, end, Some(RO)).unwrap();
    s.unmap(&ram, vvar - PAGE_SIZE, end + PAGE_SIZE).unwrap();
    assert_eq!(s.vdso(), None);
    s.check(&ram).unwrap();
}
