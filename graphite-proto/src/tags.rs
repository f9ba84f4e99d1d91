//! Graphite 1.1 tags: validation and carbon's canonical order.
//!
//! A tagged series is written `name;tag1=value1;tag2=value2`. Carbon
//! (`carbon.util.TaggedSeries`) rebuilds that string before storing it: the
//! name first, with leading `~` removed, then the `;tag=value` segments sorted
//! as whole strings. Sorting whole segments is not the same as sorting by tag
//! name (`;a-b=1` sorts before `;a=1`, since `-` < `=`), so we compare exactly
//! what carbon compares and the same series always encodes to the same bytes.

use std::cmp::Ordering;

/// Characters carbon forbids in a tag name.
const FORBIDDEN_IN_TAG_NAME: &[u8] = b";!^=";

/// A tag that carbon would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TagError {
    /// A segment after `;` had no `=`.
    #[error("tag segment at byte {offset} has no '=' (expected tag=value)")]
    MissingEquals {
        /// Byte offset of the segment in the input.
        offset: usize,
    },
    /// The tag name was empty.
    #[error("tag name at byte {offset} is empty")]
    EmptyName {
        /// Byte offset of the segment in the input.
        offset: usize,
    },
    /// The tag value was empty.
    #[error("value of tag {tag:?} at byte {offset} is empty")]
    EmptyValue {
        /// The tag name.
        tag: String,
        /// Byte offset of the segment in the input.
        offset: usize,
    },
    /// The tag name held one of `; ! ^ =`.
    #[error("tag name {tag:?} holds {ch:?} at byte {offset}; carbon forbids ; ! ^ = in tag names")]
    ForbiddenInName {
        /// The tag name.
        tag: String,
        /// The offending character.
        ch: char,
        /// Byte offset of the character in the input.
        offset: usize,
    },
    /// The tag value started with `~`.
    #[error("value of tag {tag:?} at byte {offset} starts with '~', which carbon forbids")]
    ValueStartsWithTilde {
        /// The tag name.
        tag: String,
        /// Byte offset of the value in the input.
        offset: usize,
    },
    /// The tag name `name` is reserved: carbon replaces it with the series name.
    #[error(
        "tag name \"name\" at byte {offset} is reserved: carbon overwrites it with the series name"
    )]
    ReservedName {
        /// Byte offset of the segment in the input.
        offset: usize,
    },
    /// The same tag name appeared twice.
    #[error(
        "tag {tag:?} appears twice (second at byte {offset}); carbon would silently keep only the last"
    )]
    Duplicate {
        /// The tag name.
        tag: String,
        /// Byte offset of the second segment in the input.
        offset: usize,
    },
    /// The series name was empty once carbon strips its leading `~`.
    #[error("series name is empty once carbon strips its leading '~'")]
    EmptySeriesName,
}

/// Checks one tag. `offset` is where the tag name starts in the caller's
/// input; it is only used for error reports. Whitespace and control
/// characters are the caller's concern (they are refused in the whole name).
pub(crate) fn validate_tag(name: &str, value: &str, offset: usize) -> Result<(), TagError> {
    if name.is_empty() {
        return Err(TagError::EmptyName { offset });
    }
    if let Some(i) = name
        .bytes()
        .position(|b| FORBIDDEN_IN_TAG_NAME.contains(&b))
    {
        return Err(TagError::ForbiddenInName {
            tag: name.to_owned(),
            ch: char::from(name.as_bytes()[i]),
            offset: offset + i,
        });
    }
    if name == "name" {
        return Err(TagError::ReservedName { offset });
    }
    let value_offset = offset + name.len() + 1;
    match value.as_bytes().first() {
        None => Err(TagError::EmptyValue {
            tag: name.to_owned(),
            offset: value_offset,
        }),
        Some(b'~') => Err(TagError::ValueStartsWithTilde {
            tag: name.to_owned(),
            offset: value_offset,
        }),
        // `;` cannot occur: the caller split segments on it.
        Some(_) => Ok(()),
    }
}

/// Orders two `(name, value)` tags as carbon orders `";name=value"` strings.
///
/// Python compares `str` by code point, which for UTF-8 is byte order.
pub(crate) fn carbon_order(a: (&str, &str), b: (&str, &str)) -> Ordering {
    segment_bytes(a).cmp(segment_bytes(b))
}

/// The bytes of `name=value`, without building the string.
fn segment_bytes<'a>((name, value): (&'a str, &'a str)) -> impl Iterator<Item = u8> + 'a {
    name.bytes().chain(*b"=").chain(value.bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_whole_segments_like_carbon() {
        // sorted([';a=1', ';a-b=1']) == [';a-b=1', ';a=1'] in Python.
        assert_eq!(carbon_order(("a-b", "1"), ("a", "1")), Ordering::Less);
        assert_eq!(carbon_order(("a", "2"), ("a", "10")), Ordering::Greater);
        assert_eq!(carbon_order(("b", "1"), ("ab", "1")), Ordering::Greater);
    }

    #[test]
    fn refuses_what_carbon_refuses() {
        assert!(matches!(
            validate_tag("", "v", 0),
            Err(TagError::EmptyName { .. })
        ));
        assert!(matches!(
            validate_tag("a", "", 0),
            Err(TagError::EmptyValue { .. })
        ));
        assert!(matches!(
            validate_tag("a!b", "v", 10),
            Err(TagError::ForbiddenInName {
                ch: '!',
                offset: 11,
                ..
            })
        ));
        assert!(matches!(
            validate_tag("a", "~v", 0),
            Err(TagError::ValueStartsWithTilde { .. })
        ));
        assert!(matches!(
            validate_tag("name", "v", 0),
            Err(TagError::ReservedName { .. })
        ));
        assert!(validate_tag("dc", "eu-west.1=a", 0).is_ok());
    }
}
