//! Quote arithmetic, in integer minor units.
//!
//! The rule, stated once: a line's total is `quantity × unit price`, exactly. The subtotal is
//! the sum of the non-optional lines. Tax is computed once, on the subtotal: `subtotal × rate /
//! 10 000` (the rate in basis points), rounded half up to the minor unit (amounts are never
//! negative, so half up is half away from zero). The total is `subtotal + tax`. Optional lines
//! are offered but not counted; their sum is reported apart. Cost, when lines carry one, is the
//! sum of `quantity × unit cost` over the counted lines; margin is `subtotal − cost`.

/// The largest quantity on one line.
pub const MAX_QUANTITY: i64 = 100_000;
/// The largest unit price or cost, in minor units (a billion in major units).
pub const MAX_UNIT_AMOUNT: i64 = 100_000_000_000;
/// The most lines on one quote.
pub const MAX_LINES: usize = 200;

/// One line, as priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub quantity: i64,
    pub unit_price: i64,
    pub unit_cost: Option<i64>,
    pub optional: bool,
}

/// A quote's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    pub optional: i64,
    pub cost: Option<i64>,
}

/// `quantity × unit price`.
pub fn line_total(line: &Line) -> i64 {
    line.quantity * line.unit_price
}

/// Tax on `subtotal` at `rate_bp` basis points, rounded half up.
pub fn tax(subtotal: i64, rate_bp: i32) -> i64 {
    let scaled = i128::from(subtotal) * i128::from(rate_bp);
    ((scaled + 5_000) / 10_000) as i64
}

/// The totals of `lines` at `rate_bp`. Inputs are within the limits above (callers check), so
/// no sum can overflow: 200 lines of at most 10^16 stay below 2^63.
pub fn totals(lines: &[Line], rate_bp: i32) -> Totals {
    let counted = lines.iter().filter(|l| !l.optional);
    let subtotal: i64 = counted.clone().map(line_total).sum();
    let optional: i64 = lines.iter().filter(|l| l.optional).map(line_total).sum();
    let costed: Vec<i64> = counted
        .filter_map(|l| l.unit_cost.map(|c| c * l.quantity))
        .collect();
    let cost = (!costed.is_empty()).then(|| costed.iter().sum());
    let tax = tax(subtotal, rate_bp);
    Totals {
        subtotal,
        tax,
        total: subtotal + tax,
        optional,
        cost,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rounding_is_half_up_on_the_subtotal() {
        assert_eq!(tax(1_000, 2_500), 250);
        assert_eq!(tax(1, 5_000), 1); // 0.5 -> 1
        assert_eq!(tax(1, 4_999), 0); // 0.4999 -> 0
        assert_eq!(tax(333, 1_000), 33); // 33.3 -> 33
        assert_eq!(tax(335, 1_000), 34); // 33.5 -> 34
        assert_eq!(tax(0, 2_500), 0);
        let t = totals(
            &[
                Line {
                    quantity: 3,
                    unit_price: 1_999,
                    unit_cost: Some(1_000),
                    optional: false,
                },
                Line {
                    quantity: 1,
                    unit_price: 5_000,
                    unit_cost: None,
                    optional: true,
                },
            ],
            2_500,
        );
        assert_eq!(
            t,
            Totals {
                subtotal: 5_997,
                tax: 1_499,
                total: 7_496,
                optional: 5_000,
                cost: Some(3_000)
            }
        );
    }

    fn line() -> impl Strategy<Value = Line> {
        (
            1..=MAX_QUANTITY,
            0..=MAX_UNIT_AMOUNT,
            proptest::option::of(0..=MAX_UNIT_AMOUNT),
            any::<bool>(),
        )
            .prop_map(|(quantity, unit_price, unit_cost, optional)| Line {
                quantity,
                unit_price,
                unit_cost,
                optional,
            })
    }

    proptest! {
        /// The total is the sum of the counted lines plus the tax, rounded half up, computed
        /// independently with exact rational arithmetic.
        #[test]
        fn total_is_lines_plus_rounded_tax(lines in proptest::collection::vec(line(), 0..=MAX_LINES), rate in 0..=10_000i32) {
            let t = totals(&lines, rate);
            let exact_subtotal: i128 = lines.iter().filter(|l| !l.optional).map(|l| i128::from(l.quantity) * i128::from(l.unit_price)).sum();
            prop_assert_eq!(i128::from(t.subtotal), exact_subtotal);
            // tax = floor(subtotal * rate / 10000 + 1/2), written without division rounding.
            let numerator = exact_subtotal * i128::from(rate);
            let expected_tax = (2 * numerator + 10_000).div_euclid(20_000);
            prop_assert_eq!(i128::from(t.tax), expected_tax);
            prop_assert_eq!(i128::from(t.total), exact_subtotal + expected_tax);
            // The rounding error is at most half a minor unit.
            prop_assert!((i128::from(t.tax) * 10_000 - numerator).abs() <= 5_000);
            let optional: i128 = lines.iter().filter(|l| l.optional).map(|l| i128::from(l.quantity) * i128::from(l.unit_price)).sum();
            prop_assert_eq!(i128::from(t.optional), optional);
        }
    }
}
