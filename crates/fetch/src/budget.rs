//! The response-size rule shared by every reply kind.

use crate::InvalidResponse;

/// How far a reply may exceed the requested byte budget before it is refused as oversized.
///
/// Servers stop after the item that crosses the budget (geth), and for storage they may finish a
/// small contract up to 1.5× the budget to avoid a proof. Twice the budget, not counting the last
/// item, admits every honest server and still refuses a peer that ignores the budget.
const SLACK_FACTOR: u64 = 2;

/// Refuses a reply whose items, all but the last, total more than twice `budget` bytes.
pub(crate) fn check_budget(
    item_sizes: impl Iterator<Item = usize>,
    budget: u64,
) -> Result<(), InvalidResponse> {
    let sizes: Vec<u64> = item_sizes.map(|size| size as u64).collect();
    let before_last: u64 = sizes.iter().rev().skip(1).sum();
    let allowed = budget.saturating_mul(SLACK_FACTOR);
    if before_last > allowed {
        return Err(InvalidResponse::Oversized {
            bytes: before_last + sizes.last().copied().unwrap_or(0),
            budget,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crossing_item_is_allowed_more_is_not() {
        assert!(check_budget([60, 60].into_iter(), 100).is_ok());
        assert!(check_budget([150, 10].into_iter(), 100).is_ok());
        assert!(check_budget([].into_iter(), 0).is_ok());
        assert!(check_budget([1000].into_iter(), 0).is_ok());
        assert_eq!(
            check_budget([150, 60, 1].into_iter(), 100),
            Err(InvalidResponse::Oversized { bytes: 211, budget: 100 })
        );
    }
}
