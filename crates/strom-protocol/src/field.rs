//! How one field of a message is read and written: the [`Field`] trait, its implementations for
//! every wire type, the per-field version metadata ([`FieldSpec`]), tagged-field plumbing, and
//! the `wire_struct!` macro that turns one declaration into a struct with its codec.
//!
//! This module knows nothing about particular messages or API keys: messages are declared in
//! `messages/*.rs` and listed in `api.rs`.

use std::fmt::Debug;

use bytes::{BufMut, Bytes, BytesMut};

use crate::Error;
use crate::primitives::{self, LengthPrefix, Uuid};

/// What a field codec needs to know about where it is being read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cx {
    /// The message version.
    pub version: i16,
    /// Whether this version of the message is flexible (compact lengths, tagged fields).
    pub flexible: bool,
    /// Whether this field may be null in this version.
    pub nullable: bool,
}

impl Cx {
    /// The context of a field described by `spec`, within a message read at this version.
    pub const fn with(self, spec: FieldSpec) -> Cx {
        Cx {
            version: self.version,
            flexible: self.flexible,
            nullable: spec.is_nullable(self.version),
        }
    }

    /// The context of an array's elements, which are never nullable.
    pub const fn element(self) -> Cx {
        Cx {
            version: self.version,
            flexible: self.flexible,
            nullable: false,
        }
    }
}

/// The versions in which a field exists, may be null, and whether it is tagged.
///
/// Built with [`since`] and [`range`], then refined with the builder methods:
/// `since(1).nullable_since(1)`, `since(12).tag(0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// First version that carries the field.
    pub min: i16,
    /// Last version that carries the field.
    pub max: i16,
    /// First version in which the field may be null (`i16::MAX` when never).
    pub nullable_min: i16,
    /// The tag, when the field is a tagged field (tagged versions equal `min..=max`).
    pub tag: Option<u32>,
}

/// A field present from `version` onwards.
pub const fn since(version: i16) -> FieldSpec {
    FieldSpec {
        min: version,
        max: i16::MAX,
        nullable_min: i16::MAX,
        tag: None,
    }
}

/// A field present in versions `min..=max`.
pub const fn range(min: i16, max: i16) -> FieldSpec {
    FieldSpec {
        min,
        max,
        nullable_min: i16::MAX,
        tag: None,
    }
}

impl FieldSpec {
    /// The field may be null from `version` onwards.
    pub const fn nullable_since(self, version: i16) -> FieldSpec {
        FieldSpec {
            nullable_min: version,
            ..self
        }
    }

    /// The field is a tagged field with this tag.
    pub const fn tag(self, tag: u32) -> FieldSpec {
        FieldSpec {
            tag: Some(tag),
            ..self
        }
    }

    /// Whether `version` carries the field.
    pub const fn is_present(self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }

    /// Whether the field may be null in `version`.
    pub const fn is_nullable(self, version: i16) -> bool {
        self.nullable_min <= version
    }
}

/// How many bytes of memory an array may reserve up front per remaining input byte.
const PREALLOCATION_PER_INPUT_BYTE: usize = 16;

/// A tagged field as it appears on the wire: its tag and its undecoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTaggedField {
    /// The tag.
    pub tag: u32,
    /// The field's encoded value.
    pub data: Bytes,
}

/// A value that can be read from and written to the wire in a message field.
pub trait Field: Sized + Default + Clone + PartialEq + Debug {
    /// Writes the value.
    fn write(&self, buf: &mut BytesMut, cx: Cx) -> Result<(), Error>;

    /// Reads a value, consuming its bytes from `buf`.
    fn read(buf: &mut Bytes, cx: Cx) -> Result<Self, Error>;

    /// Resets whatever `cx.version` cannot carry to its default, so that after this call
    /// `read(write(self)) == self`.
    fn normalize(&mut self, _cx: Cx) {}
}

/// A [`Field`] type that has a null encoding, so that `Option<Self>` is a field.
pub trait Nullable: Field {
    /// Writes `value`, or null for `None`.
    fn write_nullable(value: Option<&Self>, buf: &mut BytesMut, cx: Cx) -> Result<(), Error>;

    /// Reads a value that may be null.
    fn read_nullable(buf: &mut Bytes, cx: Cx) -> Result<Option<Self>, Error>;
}

macro_rules! fixed_width_field {
    ($($ty:ty, $read:path, $put:ident;)*) => {$(
        impl Field for $ty {
            fn write(&self, buf: &mut BytesMut, _cx: Cx) -> Result<(), Error> {
                buf.$put(*self);
                Ok(())
            }

            fn read(buf: &mut Bytes, _cx: Cx) -> Result<Self, Error> {
                $read(buf)
            }
        }
    )*};
}

fixed_width_field! {
    i8, primitives::read_i8, put_i8;
    i16, primitives::read_i16, put_i16;
    i32, primitives::read_i32, put_i32;
    i64, primitives::read_i64, put_i64;
    u16, primitives::read_u16, put_u16;
    u32, primitives::read_u32, put_u32;
    f64, primitives::read_f64, put_f64;
}

impl Field for bool {
    fn write(&self, buf: &mut BytesMut, _cx: Cx) -> Result<(), Error> {
        buf.put_u8(u8::from(*self));
        Ok(())
    }

    fn read(buf: &mut Bytes, _cx: Cx) -> Result<Self, Error> {
        Ok(primitives::read_i8(buf)? != 0)
    }
}

impl Field for Uuid {
    fn write(&self, buf: &mut BytesMut, _cx: Cx) -> Result<(), Error> {
        buf.put_slice(&self.0);
        Ok(())
    }

    fn read(buf: &mut Bytes, _cx: Cx) -> Result<Self, Error> {
        primitives::read_uuid(buf)
    }
}

fn string_prefix(cx: Cx) -> LengthPrefix {
    if cx.flexible {
        LengthPrefix::Compact
    } else {
        LengthPrefix::Int16
    }
}

fn bytes_prefix(cx: Cx) -> LengthPrefix {
    if cx.flexible {
        LengthPrefix::Compact
    } else {
        LengthPrefix::Int32
    }
}

impl Field for String {
    fn write(&self, buf: &mut BytesMut, cx: Cx) -> Result<(), Error> {
        Self::write_nullable(Some(self), buf, cx)
    }

    fn read(buf: &mut Bytes, cx: Cx) -> Result<Self, Error> {
        match Self::read_nullable(buf, cx)? {
            Some(res) => Ok(res),
            None => Err(Error::UnexpectedNull),
        }
    }
}

impl Nullable for String {
    fn write_nullable(value: Option<&Self>, buf: &mut BytesMut, cx: Cx) -> Result<(), Error> {
        primitives::write_length(buf, string_prefix(cx), value.map(String::len))?;
        if let Some(value) = value {
            buf.put_slice(value.as_bytes());
        }
        Ok(())
    }

    fn read_nullable(buf: &mut Bytes, cx: Cx) -> Result<Option<Self>, Error> {
        match primitives::read_length(buf, string_prefix(cx))? {
            Some(len) => Ok(Some(primitives::read_str(buf, len)?)),
            None => Ok(None),
        }
    }
}

// Byte strings (and record sets) are split off the input without copying.
impl Field for Bytes {
    fn write(&self, buf: &mut BytesMut, cx: Cx) -> Result<(), Error> {
        Self::write_nullable(Some(self), buf, cx)
    }

    fn read(buf: &mut Bytes, cx: Cx) -> Result<Self, Error> {
        match Self::read_nullable(buf, cx)? {
            Some(res) => Ok(res),
            None => Err(Error::UnexpectedNull),
        }
    }
}

impl Nullable for Bytes {
    fn write_nullable(value: Option<&Self>, buf: &mut BytesMut, cx: Cx) -> Result<(), Error> {
        primitives::write_length(buf, bytes_prefix(cx), value.map(Bytes::len))?;
        if let Some(value) = value {
            buf.put_slice(value);
        }
        Ok(())
    }

    fn read_nullable(buf: &mut Bytes, cx: Cx) -> Result<Option<Self>, Error> {
        match primitives::read_length(buf, bytes_prefix(cx))? {
            Some(len) => Ok(Some(primitives::take(buf, len)?)),
            None => Ok(None),
        }
    }
}

impl<T: Field> Field for Vec<T> {
    fn write(&self, buf: &mut BytesMut, cx: Cx) -> Result<(), Error> {
        Self::write_nullable(Some(self), buf, cx)
    }

    fn read(buf: &mut Bytes, cx: Cx) -> Result<Self, Error> {
        match Self::read_nullable(buf, cx)? {
            Some(res) => Ok(res),
            None => Err(Error::UnexpectedNull),
        }
    }

    fn normalize(&mut self, cx: Cx) {
        for element in self {
            element.normalize(cx.element());
        }
    }
}

impl<T: Field> Nullable for Vec<T> {
    fn write_nullable(value: Option<&Self>, buf: &mut BytesMut, cx: Cx) -> Result<(), Error> {
        primitives::write_length(buf, bytes_prefix(cx), value.map(Vec::len))?;
        for element in value.into_iter().flatten() {
            element.write(buf, cx.element())?;
        }
        Ok(())
    }

    fn read_nullable(buf: &mut Bytes, cx: Cx) -> Result<Option<Self>, Error> {
        // `read_length` has checked `count` against the remaining bytes (every element takes at
        // least one). Reserve up front at most PREALLOCATION_PER_INPUT_BYTE times the remaining
        // input, so a lying count costs little, while an honest one allocates once.
        let Some(count) = primitives::read_length(buf, bytes_prefix(cx))? else {
            return Ok(None);
        };
        let capacity = count
            .min(buf.len().saturating_mul(PREALLOCATION_PER_INPUT_BYTE) / size_of::<T>().max(1));
        let mut res = Vec::with_capacity(capacity);
        for _ in 0..count {
            res.push(T::read(buf, cx.element())?);
        }
        Ok(Some(res))
    }
}

impl<T: Nullable> Field for Option<T> {
    fn write(&self, buf: &mut BytesMut, cx: Cx) -> Result<(), Error> {
        if cx.nullable {
            return T::write_nullable(self.as_ref(), buf, cx);
        }
        match self {
            Some(value) => value.write(buf, cx),
            None => Err(Error::NullNotAllowed),
        }
    }

    fn read(buf: &mut Bytes, cx: Cx) -> Result<Self, Error> {
        if cx.nullable {
            return T::read_nullable(buf, cx);
        }
        Ok(Some(T::read(buf, cx)?))
    }

    fn normalize(&mut self, cx: Cx) {
        if self.is_none() && !cx.nullable {
            *self = Some(T::default());
        }
        if let Some(value) = self {
            value.normalize(cx);
        }
    }
}

/// Writes a tagged-field section: `known` (the declared tagged fields that differ from their
/// defaults) merged with `unknown`, in ascending tag order as the protocol requires.
pub fn write_tagged_fields(
    buf: &mut BytesMut,
    known: Vec<RawTaggedField>,
    unknown: &[RawTaggedField],
) -> Result<(), Error> {
    if known.is_empty() && unknown.is_empty() {
        buf.put_u8(0);
        return Ok(());
    }
    let mut fields = known;
    fields.extend_from_slice(unknown);
    fields.sort_by_key(|field| field.tag);
    let Ok(count) = u32::try_from(fields.len()) else {
        return Err(Error::TooLong(fields.len()));
    };
    primitives::write_unsigned_varint(buf, count);
    for field in &fields {
        primitives::write_unsigned_varint(buf, field.tag);
        let Ok(size) = u32::try_from(field.data.len()) else {
            return Err(Error::TooLong(field.data.len()));
        };
        primitives::write_unsigned_varint(buf, size);
        buf.put_slice(&field.data);
    }
    Ok(())
}

/// Reads the number of tagged fields, checked against the remaining bytes (each field needs at
/// least two bytes: tag and size).
pub fn read_tagged_count(buf: &mut Bytes) -> Result<u32, Error> {
    let count = primitives::read_unsigned_varint(buf)?;
    if count as usize > buf.len() / 2 {
        return Err(Error::InvalidLength(i64::from(count)));
    }
    Ok(count)
}

/// Reads one tagged field's tag and its bytes, without copying them.
pub fn read_tagged_field(buf: &mut Bytes) -> Result<RawTaggedField, Error> {
    let tag = primitives::read_unsigned_varint(buf)?;
    let size = primitives::read_unsigned_varint(buf)?;
    if size as usize > buf.len() {
        return Err(Error::InvalidLength(i64::from(size)));
    }
    let data = primitives::take(buf, size as usize)?;
    Ok(RawTaggedField { tag, data })
}

/// Checks that `tag` comes after the previous tag of its section, and remembers it.
pub fn check_tag_order(previous: &mut Option<u32>, tag: u32) -> Result<(), Error> {
    if let Some(previous) = *previous
        && tag <= previous
    {
        return Err(Error::TaggedFieldOrder { tag, previous });
    }
    *previous = Some(tag);
    Ok(())
}

/// Reads a whole tagged-field section, keeping every field raw (used by headers).
pub fn read_raw_tagged_fields(buf: &mut Bytes) -> Result<Vec<RawTaggedField>, Error> {
    let count = read_tagged_count(buf)?;
    let mut res = Vec::new();
    let mut previous = None;
    for _ in 0..count {
        let field = read_tagged_field(buf)?;
        check_tag_order(&mut previous, field.tag)?;
        res.push(field);
    }
    Ok(res)
}

/// The default of a declared field: the declared default if there is one, else `Default`.
#[macro_export]
#[doc(hidden)]
macro_rules! field_default {
    ($ty:ty) => {
        <$ty as ::core::default::Default>::default()
    };
    ($ty:ty, $default:expr) => {
        $default
    };
}

/// Declares wire structs: each becomes a `pub struct` with `pub` fields, a `Default` that
/// follows the protocol's field defaults, and a [`Field`] implementation that reads and writes
/// exactly the fields each version carries, with tagged fields in flexible versions.
///
/// ```text
/// wire_struct! {
///     /// A topic in a metadata request.
///     pub struct MetadataRequestTopic {
///         /// The topic id.
///         topic_id: Uuid => since(10),
///         /// The topic name.
///         name: Option<String> => since(0).nullable_since(10),
///     }
/// }
/// ```
///
/// `= expr` after the type sets a default other than `Default::default()`; the expression after
/// `=>` is a [`FieldSpec`].
#[macro_export]
#[doc(hidden)]
macro_rules! wire_struct {
    ($(
        $(#[$struct_meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field:ident : $ty:ty $(= $default:expr)? => $spec:expr
            ),* $(,)?
        }
    )*) => {$(
        $(#[$struct_meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $(
                $(#[$field_meta])*
                pub $field: $ty,
            )*
            /// Tagged fields this codec does not know, kept so they are re-encoded unchanged.
            pub unknown_tagged_fields: Vec<$crate::field::RawTaggedField>,
        }

        impl ::core::default::Default for $name {
            fn default() -> Self {
                Self {
                    $($field: $crate::field_default!($ty $(, $default)?),)*
                    unknown_tagged_fields: Vec::new(),
                }
            }
        }

        impl $crate::field::Field for $name {
            fn write(
                &self,
                buf: &mut ::bytes::BytesMut,
                cx: $crate::field::Cx,
            ) -> Result<(), $crate::Error> {
                $({
                    let spec: $crate::field::FieldSpec = $spec;
                    if spec.tag.is_none() && spec.is_present(cx.version) {
                        $crate::field::Field::write(&self.$field, buf, cx.with(spec))?;
                    }
                })*
                if cx.flexible {
                    let mut known: Vec<$crate::field::RawTaggedField> = Vec::new();
                    $({
                        let spec: $crate::field::FieldSpec = $spec;
                        if let Some(tag) = spec.tag {
                            let default: $ty = $crate::field_default!($ty $(, $default)?);
                            if spec.is_present(cx.version) && self.$field != default {
                                let mut data = ::bytes::BytesMut::new();
                                $crate::field::Field::write(&self.$field, &mut data, cx.with(spec))?;
                                known.push($crate::field::RawTaggedField { tag, data: data.freeze() });
                            }
                        }
                    })*
                    $crate::field::write_tagged_fields(buf, known, &self.unknown_tagged_fields)?;
                }
                Ok(())
            }

            fn read(
                buf: &mut ::bytes::Bytes,
                cx: $crate::field::Cx,
            ) -> Result<Self, $crate::Error> {
                let mut res = Self::default();
                $({
                    let spec: $crate::field::FieldSpec = $spec;
                    if spec.tag.is_none() && spec.is_present(cx.version) {
                        res.$field = $crate::field::Field::read(buf, cx.with(spec))?;
                    }
                })*
                if cx.flexible {
                    let count = $crate::field::read_tagged_count(buf)?;
                    let mut previous = None;
                    for _ in 0..count {
                        let raw = $crate::field::read_tagged_field(buf)?;
                        $crate::field::check_tag_order(&mut previous, raw.tag)?;
                        $({
                            let spec: $crate::field::FieldSpec = $spec;
                            if spec.tag == Some(raw.tag) && spec.is_present(cx.version) {
                                let mut data = raw.data;
                                res.$field = $crate::field::Field::read(&mut data, cx.with(spec))?;
                                continue;
                            }
                        })*
                        res.unknown_tagged_fields.push(raw);
                    }
                }
                Ok(res)
            }

            fn normalize(&mut self, cx: $crate::field::Cx) {
                $({
                    let spec: $crate::field::FieldSpec = $spec;
                    if spec.is_present(cx.version) && (spec.tag.is_none() || cx.flexible) {
                        $crate::field::Field::normalize(&mut self.$field, cx.with(spec));
                    } else {
                        self.$field = $crate::field_default!($ty $(, $default)?);
                    }
                })*
                if !cx.flexible {
                    self.unknown_tagged_fields.clear();
                }
            }
        }

        impl $crate::field::Nullable for $name {
            fn write_nullable(
                value: Option<&Self>,
                buf: &mut ::bytes::BytesMut,
                cx: $crate::field::Cx,
            ) -> Result<(), $crate::Error> {
                match value {
                    Some(value) => {
                        ::bytes::BufMut::put_i8(buf, 1);
                        $crate::field::Field::write(value, buf, cx)
                    }
                    None => {
                        ::bytes::BufMut::put_i8(buf, -1);
                        Ok(())
                    }
                }
            }

            fn read_nullable(
                buf: &mut ::bytes::Bytes,
                cx: $crate::field::Cx,
            ) -> Result<Option<Self>, $crate::Error> {
                if $crate::primitives::read_i8(buf)? < 0 {
                    return Ok(None);
                }
                Ok(Some($crate::field::Field::read(buf, cx)?))
            }
        }

        #[cfg(feature = "testing")]
        impl $crate::random::Random for $name {
            fn random(rng: &mut $crate::random::Rng) -> Self {
                Self {
                    $($field: $crate::random::Random::random(rng),)*
                    unknown_tagged_fields: $crate::random::random_unknown_tagged_fields(rng),
                }
            }
        }
    )*};
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::wire_struct! {
        /// A struct exercising every kind of declaration.
        pub struct Sample {
            /// Plain field with a non-zero default.
            id: i32 = -1 => since(0),
            /// Nullable from v1, absent in v0.
            name: Option<String> => since(1).nullable_since(1),
            /// Tagged field with tag 5.
            note: String => since(2).tag(5),
            /// Tagged field with tag 1.
            level: i8 => since(2).tag(1),
            /// Present only in v0 and v1.
            old: bool => range(0, 1),
        }
    }

    fn cx(version: i16) -> Cx {
        Cx {
            version,
            flexible: version >= 2,
            nullable: false,
        }
    }

    #[track_caller]
    fn check(sample: &Sample, version: i16, expect_hex: &str) {
        let mut buf = BytesMut::new();
        sample.write(&mut buf, cx(version)).unwrap();
        let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expect_hex, "version {version}");
        let mut bytes = buf.freeze();
        let mut expected = sample.clone();
        expected.normalize(cx(version));
        assert_eq!(Sample::read(&mut bytes, cx(version)).unwrap(), expected);
        assert!(bytes.is_empty());
    }

    #[test]
    fn fields_follow_their_versions_and_tags_are_sorted() {
        let sample = Sample {
            id: 7,
            name: Some("ab".to_owned()),
            note: "x".to_owned(),
            level: 3,
            old: true,
            unknown_tagged_fields: vec![RawTaggedField {
                tag: 3,
                data: Bytes::from_static(&[0xee]),
            }],
        };
        check(&sample, 0, "0000000701");
        check(&sample, 1, "000000070002616201");
        check(&sample, 2, "00000007036162030101030301ee05020278");
        let defaults = Sample {
            name: None,
            ..Sample::default()
        };
        check(&defaults, 2, "ffffffff0000");
        check(&defaults, 1, "ffffffffffff00");
    }

    #[test]
    fn tags_out_of_order_or_repeated_are_refused() {
        // id 7, empty name, then a tagged section of two fields: tags 1000 and 900.
        let descending = [0, 0, 0, 7, 1, 2, 0xe8, 0x07, 0, 0x84, 0x07, 0];
        let mut bytes = Bytes::copy_from_slice(&descending);
        assert!(matches!(
            Sample::read(&mut bytes, cx(2)),
            Err(Error::TaggedFieldOrder {
                tag: 900,
                previous: 1000
            })
        ));
        // A known tag given twice would otherwise let the second silently win.
        let repeated = [0, 0, 0, 7, 1, 2, 1, 1, 4, 1, 1, 5];
        let mut bytes = Bytes::copy_from_slice(&repeated);
        assert!(matches!(
            Sample::read(&mut bytes, cx(2)),
            Err(Error::TaggedFieldOrder {
                tag: 1,
                previous: 1
            })
        ));
        let ascending = [0, 0, 0, 7, 1, 2, 1, 1, 4, 0x84, 0x07, 0];
        let mut bytes = Bytes::copy_from_slice(&ascending);
        let sample = Sample::read(&mut bytes, cx(2)).unwrap();
        assert_eq!(sample.level, 4);
        assert_eq!(sample.unknown_tagged_fields.len(), 1);
    }

    #[test]
    fn null_in_a_non_nullable_version_is_refused() {
        let sample = Sample {
            name: None,
            ..Sample::default()
        };
        let mut buf = BytesMut::new();
        sample.write(&mut buf, cx(0)).unwrap();
        let mut strict = cx(1);
        strict.nullable = false;
        assert!(matches!(
            sample.name.write(&mut buf, strict),
            Err(Error::NullNotAllowed)
        ));
        let mut bytes = Bytes::from_static(&[0xff, 0xff]);
        assert!(matches!(
            String::read(&mut bytes, strict),
            Err(Error::UnexpectedNull)
        ));
    }
}
