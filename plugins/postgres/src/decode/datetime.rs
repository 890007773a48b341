//! Dates, times and intervals from their binary form to ISO 8601 text.
//!
//! * `date` → `2024-02-29`; `timestamp` → `2024-02-29T13:45:00.123456`;
//!   `timestamptz` → the same instant in UTC with an explicit offset, `…+00:00`.
//! * `time` → `13:45:00.5`; `timetz` → `13:45:00+05:30` (the value's own offset).
//! * Fractional seconds show up to microseconds, without trailing zeros.
//! * `infinity` and `-infinity` stay those words.
//! * Years before 1 AD use astronomical numbering (1 BC is `0000`, 2 BC is `-0001`), as
//!   ISO 8601 does; years after 9999 are written in full.
//! * `interval` → an ISO 8601 duration as PostgreSQL's `IntervalStyle = iso_8601` writes it:
//!   `P1Y2M3DT4H5M6.5S`, each part signed on its own (`P-1Y2M`), `PT0S` for zero.

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const POSTGRES_EPOCH_UNIX_DAYS: i64 = 10_957;

/// A `date`: days since 2000-01-01.
pub fn date_text(days: i32) -> String {
    match days {
        i32::MAX => "infinity".to_owned(),
        i32::MIN => "-infinity".to_owned(),
        days => civil_date(i64::from(days)),
    }
}

/// A `time`: microseconds since midnight.
pub fn time_text(micros: i64) -> String {
    clock_text(micros)
}

/// A `timetz`: microseconds since midnight and the zone's offset in seconds **west** of UTC.
pub fn timetz_text(micros: i64, zone_west_seconds: i32) -> String {
    format!(
        "{}{}",
        clock_text(micros),
        offset_text(-i64::from(zone_west_seconds))
    )
}

/// A `timestamp` (or, with `utc`, a `timestamptz`): microseconds since 2000-01-01 00:00.
pub fn timestamp_text(micros: i64, utc: bool) -> String {
    match micros {
        i64::MAX => "infinity".to_owned(),
        i64::MIN => "-infinity".to_owned(),
        micros => {
            let days = micros.div_euclid(MICROS_PER_DAY);
            let time = micros.rem_euclid(MICROS_PER_DAY);
            // Written in place: a large result holds one of these per row and column.
            let mut text = String::with_capacity(32);
            push_civil_date(&mut text, days);
            text.push('T');
            push_clock(&mut text, time);
            if utc {
                text.push_str("+00:00");
            }
            text
        }
    }
}

/// An `interval`: microseconds, days and months, kept apart as PostgreSQL keeps them.
pub fn interval_text(micros: i64, days: i32, months: i32) -> String {
    if micros == 0 && days == 0 && months == 0 {
        return "PT0S".to_owned();
    }
    // Truncating division keeps every part's sign equal to its field's sign, as PostgreSQL's
    // interval2itm does.
    let hours = micros / MICROS_PER_HOUR;
    let minutes = (micros % MICROS_PER_HOUR) / MICROS_PER_MINUTE;
    let seconds = micros % MICROS_PER_MINUTE;
    let mut text = String::from("P");
    let part = |text: &mut String, value: i64, unit: char| {
        if value != 0 {
            text.push_str(&format!("{value}{unit}"));
        }
    };
    part(&mut text, i64::from(months / 12), 'Y');
    part(&mut text, i64::from(months % 12), 'M');
    part(&mut text, i64::from(days), 'D');
    if hours != 0 || minutes != 0 || seconds != 0 {
        text.push('T');
        part(&mut text, hours, 'H');
        part(&mut text, minutes, 'M');
        if seconds != 0 {
            if seconds < 0 {
                text.push('-');
            }
            let magnitude = seconds.unsigned_abs();
            text.push_str(&format!(
                "{}{}S",
                magnitude / MICROS_PER_SECOND as u64,
                fraction_text(magnitude % MICROS_PER_SECOND as u64)
            ));
        }
    }
    text
}

/// `HH:MM:SS[.ffffff]` for microseconds since midnight (24:00:00 is a valid `time`).
fn clock_text(micros: i64) -> String {
    let mut text = String::with_capacity(16);
    push_clock(&mut text, micros);
    text
}

/// Appends [`clock_text`]'s form of `micros`.
fn push_clock(text: &mut String, micros: i64) {
    let magnitude = micros.unsigned_abs();
    if micros < 0 {
        text.push('-');
    }
    push_padded(text, magnitude / MICROS_PER_HOUR as u64, 2);
    text.push(':');
    push_padded(
        text,
        magnitude % MICROS_PER_HOUR as u64 / MICROS_PER_MINUTE as u64,
        2,
    );
    text.push(':');
    push_padded(
        text,
        magnitude % MICROS_PER_MINUTE as u64 / MICROS_PER_SECOND as u64,
        2,
    );
    push_fraction(text, magnitude % MICROS_PER_SECOND as u64);
}

/// `.ffffff` without trailing zeros, or nothing for a whole second.
fn fraction_text(micros: u64) -> String {
    let mut text = String::new();
    push_fraction(&mut text, micros);
    text
}

/// Appends [`fraction_text`]'s form of `micros` (below one second).
fn push_fraction(text: &mut String, micros: u64) {
    if micros == 0 {
        return;
    }
    let (mut digits, mut width) = (micros, 6);
    while digits % 10 == 0 {
        digits /= 10;
        width -= 1;
    }
    text.push('.');
    push_padded(text, digits, width);
}

/// Appends `value` in decimal, zero-padded to at least `width` digits.
fn push_padded(text: &mut String, value: u64, width: usize) {
    // Zeros first, so the padding is already in place left of the digits.
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let start = start.min(digits.len().saturating_sub(width));
    // Only ASCII digits were written, so this is always valid UTF-8.
    text.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

/// `+HH:MM`, or `+HH:MM:SS` when the offset has seconds (historical zones do).
fn offset_text(east_seconds: i64) -> String {
    let sign = if east_seconds < 0 { '-' } else { '+' };
    let magnitude = east_seconds.unsigned_abs();
    let (hours, minutes, seconds) = (magnitude / 3600, magnitude % 3600 / 60, magnitude % 60);
    if seconds == 0 {
        format!("{sign}{hours:02}:{minutes:02}")
    } else {
        format!("{sign}{hours:02}:{minutes:02}:{seconds:02}")
    }
}

/// `YYYY-MM-DD` for days since 2000-01-01, proleptic Gregorian.
fn civil_date(days_since_postgres_epoch: i64) -> String {
    let mut text = String::with_capacity(10);
    push_civil_date(&mut text, days_since_postgres_epoch);
    text
}

/// Appends [`civil_date`]'s form of the day.
fn push_civil_date(text: &mut String, days_since_postgres_epoch: i64) {
    let (year, month, day) =
        civil_from_unix_days(days_since_postgres_epoch + POSTGRES_EPOCH_UNIX_DAYS);
    if year < 0 {
        text.push('-');
    }
    push_padded(text, year.unsigned_abs(), 4);
    text.push('-');
    push_padded(text, u64::from(month), 2);
    text.push('-');
    push_padded(text, u64::from(day), 2);
}

/// Year, month and day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_unix_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_from_2000() {
        assert_eq!(date_text(0), "2000-01-01");
        assert_eq!(date_text(59), "2000-02-29");
        assert_eq!(date_text(-1), "1999-12-31");
        assert_eq!(date_text(-10_957), "1970-01-01");
        // 0001-01-01 and the day before it, 1 BC = astronomical year 0.
        assert_eq!(date_text(-730_119), "0001-01-01");
        assert_eq!(date_text(-730_120), "0000-12-31");
        assert_eq!(date_text(i32::MAX), "infinity");
        assert_eq!(date_text(i32::MIN), "-infinity");
    }

    #[test]
    fn timestamps_and_times() {
        assert_eq!(timestamp_text(0, false), "2000-01-01T00:00:00");
        assert_eq!(timestamp_text(-1, true), "1999-12-31T23:59:59.999999+00:00");
        assert_eq!(
            timestamp_text(86_400_000_000 + 1_500_000, true),
            "2000-01-02T00:00:01.5+00:00"
        );
        assert_eq!(timestamp_text(i64::MAX, true), "infinity");
        assert_eq!(time_text(MICROS_PER_DAY), "24:00:00");
        assert_eq!(time_text(45_296_000_100), "12:34:56.0001");
        assert_eq!(timetz_text(0, -19_800), "00:00:00+05:30");
        assert_eq!(timetz_text(0, 3_600 + 30), "00:00:00-01:00:30");
        assert_eq!(time_text(-MICROS_PER_HOUR - 10), "-01:00:00.00001");
        // Years past 9999 and before 1 BC keep every digit.
        assert_eq!(
            timestamp_text(2_920_000 * MICROS_PER_DAY + 1, false),
            "9994-09-09T00:00:00.000001"
        );
        assert_eq!(date_text(3_000_000), "10213-09-21");
        assert_eq!(date_text(-1_000_000), "-0738-02-03");
    }

    #[test]
    fn intervals_are_iso_8601_durations() {
        assert_eq!(interval_text(0, 0, 0), "PT0S");
        assert_eq!(
            interval_text(
                4 * MICROS_PER_HOUR + 5 * MICROS_PER_MINUTE + 6_500_000,
                3,
                14
            ),
            "P1Y2M3DT4H5M6.5S"
        );
        assert_eq!(interval_text(-1_500_000, 0, -13), "P-1Y-1MT-1.5S");
        assert_eq!(interval_text(-MICROS_PER_HOUR, 1, 0), "P1DT-1H");
        assert_eq!(interval_text(0, 0, 12), "P1Y");
    }
}
