//! Bounded in-memory queues with the inbox as their overflow.
//!
//! Every item an actor queues is already stored in the `inbox` table (it was stored before the
//! webhook was acknowledged), so an actor over its cap may drop its in-memory copy: it then
//! *spills*, refusing every further live item (so nothing newer overtakes what it dropped), and
//! once it has drained below its low-water mark it reads the dropped items back from the inbox,
//! in id order and a bounded page at a time, until a read reaches the end with nothing dropped
//! meanwhile. Then it accepts live items again.
//!
//! `Overflow` is only the bookkeeping (no I/O), so the rules are unit-tested here; the actors
//! (chat, number, portal) do the reads.

/// The admission state of one bounded queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overflow {
    /// Over the cap (or not caught up yet): live items are left in the inbox.
    spilled: bool,
    /// While spilled: every unprocessed item of ours with an id above this is (re)read from the
    /// inbox; everything at or below it is queued, done with, or brought back by the sweep.
    cursor: i64,
    /// A read is in flight (at most one at a time).
    reading: bool,
    /// Lowest id dropped since the read in flight was issued: that read may not have seen it.
    dropped_during_read: Option<i64>,
}

/// What a finished page read found (see `Overflow::read_done`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The id of the last row consumed (queued, or not ours); `None` when none was.
    pub last: Option<i64>,
    /// The rows ran out before the page did, and every row was consumed: nothing of ours above
    /// `last` was stored when the read began.
    pub at_end: bool,
}

impl Overflow {
    /// Accepting live items.
    pub fn open() -> Self {
        Self {
            spilled: false,
            cursor: 0,
            reading: false,
            dropped_during_read: None,
        }
    }

    /// Not accepting live items until everything stored has been read (an actor that starts,
    /// or reloads, catches up with its stored backlog first).
    pub fn catching_up() -> Self {
        Self {
            spilled: true,
            ..Self::open()
        }
    }

    pub fn is_spilled(&self) -> bool {
        self.spilled
    }

    /// Whether a live item `id` may be queued in memory, given the queue's length and cap.
    /// `false`: it is left in the inbox (spilled), and a later read brings it back in order.
    pub fn admit(&mut self, id: i64, len: usize, cap: usize) -> bool {
        if !self.spilled && len < cap.max(1) {
            return true;
        }
        if !self.spilled {
            // Everything below `id` that is ours was queued (or is done with): start after it.
            self.spilled = true;
            self.cursor = id - 1;
        }
        // An id at or below the cursor (a late commit, or a sweep's old item) must be read too.
        self.cursor = self.cursor.min(id - 1);
        if self.reading {
            self.dropped_during_read = Some(self.dropped_during_read.map_or(id, |d| d.min(id)));
        }
        false
    }

    /// Whether a page should be read now: spilled, no read in flight, and the queue has
    /// drained to `low` or below.
    pub fn wants_read(&self, len: usize, low: usize) -> bool {
        self.spilled && !self.reading && len <= low
    }

    /// A page read is issued: returns the id to read after.
    pub fn read_started(&mut self) -> i64 {
        self.reading = true;
        self.dropped_during_read = None;
        self.cursor
    }

    /// The read failed: the next attempt starts from the same place.
    pub fn read_failed(&mut self) {
        self.reading = false;
        if let Some(d) = self.dropped_during_read.take() {
            self.cursor = self.cursor.min(d - 1);
        }
    }

    /// The read finished: moves the cursor past what was consumed, and opens the queue again
    /// when the read reached the end and nothing was dropped while it ran (an item dropped
    /// meanwhile may have been stored after the read began, so it needs another read).
    pub fn read_done(&mut self, page: Page) {
        self.reading = false;
        let mut cursor = page.last.map_or(self.cursor, |l| self.cursor.max(l));
        let dropped = self.dropped_during_read.take();
        if let Some(d) = dropped {
            cursor = cursor.min(d - 1);
        }
        self.cursor = cursor;
        if page.at_end && dropped.is_none() {
            self.spilled = false;
        }
    }
}

/// The low-water mark of a queue with `cap`: reads resume once it has drained to half.
pub fn low_water(cap: usize) -> usize {
    cap.max(1) / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An overflow that dropped `id` (its queue full at `cap`) and began reading it back.
    fn reading_after_a_drop(id: i64, cap: usize) -> Overflow {
        let mut o = Overflow::open();
        assert!(!o.admit(id, cap, cap));
        o.read_started();
        o
    }

    /// A read's page that consumed rows up to `last`.
    fn page(last: i64, at_end: bool) -> Page {
        Page {
            last: Some(last),
            at_end,
        }
    }

    #[test]
    fn admits_up_to_the_cap_then_spills_everything_after() {
        let mut o = Overflow::open();
        assert!(o.admit(10, 0, 2));
        assert!(o.admit(11, 1, 2));
        assert!(!o.admit(12, 2, 2), "over the cap");
        assert!(o.is_spilled());
        // Even with room again, a live item may not overtake the dropped one.
        assert!(!o.admit(13, 0, 2));
        assert_eq!(
            o.read_started(),
            11,
            "reads resume right after the last admitted item"
        );
    }

    #[test]
    fn reads_only_below_the_low_water_mark_and_one_at_a_time() {
        let mut o = Overflow::open();
        assert!(!o.admit(5, 4, 4));
        assert!(!o.wants_read(3, low_water(4)), "3 > 2: not drained enough");
        assert!(o.wants_read(2, low_water(4)));
        o.read_started();
        assert!(!o.wants_read(0, 2), "a read is in flight");
    }

    #[test]
    fn a_page_with_more_rows_keeps_it_spilled_and_moves_the_cursor() {
        let mut o = Overflow::open();
        assert!(!o.admit(7, 1, 1));
        assert_eq!(o.read_started(), 6);
        o.read_done(page(40, false));
        assert!(o.is_spilled());
        assert_eq!(o.read_started(), 40);
        o.read_done(page(55, true));
        assert!(!o.is_spilled(), "caught up");
        assert!(o.admit(56, 0, 1));
    }

    #[test]
    fn a_drop_during_the_read_needs_another_read_even_at_the_end() {
        let mut o = reading_after_a_drop(7, 1);
        // Stored (and dropped) after the read began: the read may have missed it.
        assert!(!o.admit(60, 0, 1));
        o.read_done(page(50, true));
        assert!(o.is_spilled());
        assert_eq!(o.read_started(), 50);
        o.read_done(page(60, true));
        assert!(!o.is_spilled());
    }

    #[test]
    fn an_older_item_dropped_moves_the_cursor_back() {
        let mut o = reading_after_a_drop(100, 3);
        // A late commit (or a sweep) with a lower id: reading must restart below it.
        assert!(!o.admit(42, 0, 3));
        o.read_done(page(120, false));
        assert_eq!(o.read_started(), 41);
    }

    #[test]
    fn a_failed_read_is_retried_from_the_same_place() {
        let mut o = Overflow::catching_up();
        assert_eq!(o.read_started(), 0);
        assert!(!o.admit(9, 0, 10), "catching up: live items wait");
        o.read_failed();
        assert!(o.is_spilled());
        assert_eq!(o.read_started(), 0);
        o.read_done(Page {
            last: None,
            at_end: true,
        });
        assert!(!o.is_spilled(), "an empty inbox: caught up");
    }

    #[test]
    fn catching_up_reads_from_the_start() {
        let mut o = Overflow::catching_up();
        assert!(o.wants_read(0, 0));
        assert_eq!(o.read_started(), 0);
    }
}
