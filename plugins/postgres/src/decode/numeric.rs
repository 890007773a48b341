//! `numeric` and `money` as exact decimal text.

use plenum_plugin_api::Value;

use super::{DecodeError, Reader};

const SIGN_POSITIVE: u16 = 0x0000;
const SIGN_NEGATIVE: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_POSITIVE_INFINITY: u16 = 0xD000;
const SIGN_NEGATIVE_INFINITY: u16 = 0xF000;
/// Each stored digit holds four decimal digits.
const DIGITS_PER_GROUP: usize = 4;

/// A binary `numeric` as a [`Value::Decimal`]: every digit the server stored, with exactly
/// `dscale` fractional digits, as PostgreSQL prints it. NaN and infinities become the text
/// `NaN`, `Infinity` and `-Infinity`.
///
/// Wire layout: `ndigits`, `weight` (of the first group, in base 10000), `sign`, `dscale`
/// (fractional decimal digits to show), then `ndigits` base-10000 groups.
pub fn numeric_value(raw: &[u8]) -> Result<Value, DecodeError> {
    let mut reader = Reader::new(raw);
    let group_count = reader.i16()?;
    let weight = i64::from(reader.i16()?);
    let sign = reader.u16()?;
    let scale = usize::from(reader.u16()? & 0x3FFF);
    let group_count = usize::try_from(group_count)
        .map_err(|_| DecodeError("negative numeric digit count".to_owned()))?;
    let mut groups = Vec::with_capacity(group_count);
    for _ in 0..group_count {
        let group = reader.i16()?;
        if !(0..10_000).contains(&group) {
            return Err(DecodeError(format!("numeric digit {group} out of range")));
        }
        groups.push(group as u16);
    }
    reader.finish()?;

    let negative = match sign {
        SIGN_POSITIVE => false,
        SIGN_NEGATIVE => true,
        SIGN_NAN => return Ok(Value::Decimal("NaN".into())),
        SIGN_POSITIVE_INFINITY => return Ok(Value::Decimal("Infinity".into())),
        SIGN_NEGATIVE_INFINITY => return Ok(Value::Decimal("-Infinity".into())),
        other => return Err(DecodeError(format!("unknown numeric sign {other:#06x}"))),
    };
    // The group at index `i` has weight `weight - i`; missing groups are zero.
    let group_at = |weight_of_group: i64| -> u16 {
        usize::try_from(weight - weight_of_group)
            .ok()
            .and_then(|index| groups.get(index).copied())
            .unwrap_or(0)
    };

    let mut text = String::new();
    if negative {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&group_at(weight).to_string());
        for group_weight in (0..weight).rev() {
            text.push_str(&format!("{:04}", group_at(group_weight)));
        }
    }
    if scale > 0 {
        text.push('.');
        let mut fraction = String::with_capacity(scale + DIGITS_PER_GROUP);
        let mut group_weight = -1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", group_at(group_weight)));
            group_weight -= 1;
        }
        fraction.truncate(scale);
        text.push_str(&fraction);
    }
    Ok(Value::Decimal(text.into()))
}

/// A binary `money` value (an `int64` count of the smallest currency unit) as decimal text.
///
/// Assumes two fractional digits, which is what `lc_monetary` gives for `C`, `C.UTF-8`,
/// `en_US` and most locales; a server whose monetary locale uses another number of fractional
/// digits would be off by a power of ten.
pub fn money_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(group_count: i16, weight: i16, sign: u16, scale: u16, groups: &[i16]) -> String {
        let mut raw = Vec::new();
        raw.extend_from_slice(&group_count.to_be_bytes());
        raw.extend_from_slice(&weight.to_be_bytes());
        raw.extend_from_slice(&sign.to_be_bytes());
        raw.extend_from_slice(&scale.to_be_bytes());
        for group in groups {
            raw.extend_from_slice(&group.to_be_bytes());
        }
        match numeric_value(&raw) {
            Ok(Value::Decimal(text)) => text.into(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn numerics_keep_every_digit_and_the_scale() {
        assert_eq!(numeric(0, 0, SIGN_POSITIVE, 0, &[]), "0");
        assert_eq!(numeric(0, 0, SIGN_POSITIVE, 3, &[]), "0.000");
        // 12345.678 = groups [1, 2345, 6780], weight 1, dscale 3
        assert_eq!(
            numeric(3, 1, SIGN_NEGATIVE, 3, &[1, 2345, 6780]),
            "-12345.678"
        );
        // 0.0001 = groups [1], weight -1
        assert_eq!(numeric(1, -1, SIGN_POSITIVE, 4, &[1]), "0.0001");
        // 0.00000001 = groups [1], weight -2, dscale 8
        assert_eq!(numeric(1, -2, SIGN_POSITIVE, 8, &[1]), "0.00000001");
        // 10000000000 = groups [100], weight 2 (trailing zero groups omitted)
        assert_eq!(numeric(1, 2, SIGN_POSITIVE, 0, &[100]), "10000000000");
        assert_eq!(numeric(1, 2, SIGN_POSITIVE, 2, &[100]), "10000000000.00");
        assert_eq!(numeric(0, 0, SIGN_NAN, 0, &[]), "NaN");
        assert_eq!(numeric(0, 0, SIGN_NEGATIVE_INFINITY, 0, &[]), "-Infinity");
    }

    #[test]
    fn malformed_numerics_are_errors() {
        assert!(numeric_value(&[0, 1, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(numeric_value(&[0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10]).is_err());
        assert!(numeric_value(&[0, 0, 0, 0, 0x12, 0x34, 0, 0]).is_err());
    }

    #[test]
    fn money_has_two_fractional_digits() {
        assert_eq!(money_text(123_456), "1234.56");
        assert_eq!(money_text(-5), "-0.05");
        assert_eq!(money_text(i64::MIN), "-92233720368547758.08");
    }
}
