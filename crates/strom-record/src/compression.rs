//! The codecs of a batch's record area: none, gzip, snappy (xerial framing as the Java client
//! writes it; raw snappy is read too), LZ4 (the standard frame format) and zstd. Decompression
//! stops at a caller-given cap without allocating past it, so a decompression bomb costs bounded
//! memory. It knows nothing about records; it turns bytes into bytes.

use std::io::{Read, Write};

use crate::{Compression, Error};

/// The header the xerial snappy framing starts with: magic, then version 1 and compatible
/// version 1 as big-endian u32s (what the Java client writes).
const XERIAL_HEADER: [u8; 16] = *b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";
/// The part of the header that identifies the framing; the versions are not checked on read.
const XERIAL_MAGIC_SIZE: usize = 8;
/// Uncompressed bytes per snappy block, as snappy-java's default.
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;
/// Kafka's default zstd level.
const ZSTD_LEVEL: i32 = 3;
/// The largest zstd window a frame may ask for (128 MiB, zstd's own default limit), and the
/// smallest limit we impose (4 MiB, above what producers use for batches at default levels).
const ZSTD_WINDOW_LOG_MAX: u32 = 27;
const ZSTD_WINDOW_LOG_MIN: u32 = 22;
/// Growth step of the output buffer while decompressing.
const READ_CHUNK: usize = 16 * 1024;

/// Compresses `data` with `codec` (for `Compression::None`, returns a copy).
pub(crate) fn compress(codec: Compression, data: &[u8]) -> Result<Vec<u8>, Error> {
    let failed = |error: std::io::Error| Error::CompressionFailed {
        codec,
        reason: error.to_string(),
    };
    match codec {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(data).map_err(failed)?;
            encoder.finish().map_err(failed)
        }
        Compression::Snappy => {
            let mut res = Vec::with_capacity(XERIAL_HEADER.len() + data.len() / 2);
            res.extend_from_slice(&XERIAL_HEADER);
            let mut encoder = snap::raw::Encoder::new();
            for block in data.chunks(XERIAL_BLOCK_SIZE) {
                let compressed =
                    encoder
                        .compress_vec(block)
                        .map_err(|error| Error::CompressionFailed {
                            codec,
                            reason: error.to_string(),
                        })?;
                let length = u32::try_from(compressed.len())
                    .expect("a compressed 32 KiB block is far below 4 GiB");
                res.extend_from_slice(&length.to_be_bytes());
                res.extend_from_slice(&compressed);
            }
            Ok(res)
        }
        Compression::Lz4 => {
            let frame_info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent);
            let mut encoder =
                lz4_flex::frame::FrameEncoder::with_frame_info(frame_info, Vec::new());
            encoder.write_all(data).map_err(failed)?;
            encoder.finish().map_err(|error| Error::CompressionFailed {
                codec,
                reason: error.to_string(),
            })
        }
        Compression::Zstd => zstd::bulk::compress(data, ZSTD_LEVEL).map_err(failed),
    }
}

/// Decompresses `data` compressed with `codec`; fails with `DecompressedTooLarge` as soon as the
/// output would exceed `limit` bytes, having allocated at most `limit + 1` bytes of output.
pub(crate) fn decompress(codec: Compression, data: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    let corrupt = |reason: String| Error::CorruptCompressed { codec, reason };
    match codec {
        Compression::None => {
            if data.len() > limit {
                return Err(Error::DecompressedTooLarge { limit });
            }
            Ok(data.to_vec())
        }
        Compression::Gzip => read_capped(flate2::read::MultiGzDecoder::new(data), codec, limit),
        Compression::Snappy => decompress_snappy(data, limit),
        Compression::Lz4 => read_capped(lz4_flex::frame::FrameDecoder::new(data), codec, limit),
        Compression::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(data)
                .map_err(|e| corrupt(e.to_string()))?;
            // The window is allocated up front from the frame header, so bound it by the cap too.
            let window_log = usize::BITS - limit.leading_zeros();
            decoder
                .window_log_max(window_log.clamp(ZSTD_WINDOW_LOG_MIN, ZSTD_WINDOW_LOG_MAX))
                .map_err(|e| corrupt(e.to_string()))?;
            read_capped(decoder, codec, limit)
        }
    }
}

fn decompress_snappy(data: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    let codec = Compression::Snappy;
    let corrupt = |error: snap::Error| Error::CorruptCompressed {
        codec,
        reason: error.to_string(),
    };
    let mut decoder = snap::raw::Decoder::new();
    let Some(mut rest) = data
        .strip_prefix(&XERIAL_HEADER[..XERIAL_MAGIC_SIZE])
        .and_then(|rest| rest.get(XERIAL_HEADER.len() - XERIAL_MAGIC_SIZE..))
    else {
        // Raw snappy (librdkafka may send it): one block whose header states its size.
        let size = snap::raw::decompress_len(data).map_err(corrupt)?;
        if size > limit {
            return Err(Error::DecompressedTooLarge { limit });
        }
        return decoder.decompress_vec(data).map_err(corrupt);
    };
    let mut res = Vec::new();
    while !rest.is_empty() {
        let Some((length, after)) = rest.split_first_chunk::<4>() else {
            return Err(Error::CorruptCompressed {
                codec,
                reason: "truncated block length".to_owned(),
            });
        };
        let length = u32::from_be_bytes(*length) as usize;
        let Some(block) = after.get(..length) else {
            return Err(Error::CorruptCompressed {
                codec,
                reason: "block length exceeds the data".to_owned(),
            });
        };
        rest = &after[length..];
        let size = snap::raw::decompress_len(block).map_err(corrupt)?;
        if size > limit - res.len() {
            return Err(Error::DecompressedTooLarge { limit });
        }
        let start = res.len();
        res.resize(start + size, 0);
        let written = decoder
            .decompress(block, &mut res[start..])
            .map_err(corrupt)?;
        res.truncate(start + written);
    }
    Ok(res)
}

/// Reads `reader` to its end, refusing to produce more than `limit` bytes. The buffer grows
/// geometrically but never holds more than `limit + 1` bytes.
fn read_capped(mut reader: impl Read, codec: Compression, limit: usize) -> Result<Vec<u8>, Error> {
    let cap = limit.saturating_add(1);
    let mut res: Vec<u8> = Vec::new();
    loop {
        let room = cap - res.len();
        if room == 0 {
            break;
        }
        let grow = res.len().max(READ_CHUNK).min(room);
        res.reserve_exact(grow);
        // `take` keeps `read_to_end` from growing the buffer past what we reserved.
        let read = match (&mut reader).take(grow as u64).read_to_end(&mut res) {
            Ok(read) => read,
            Err(error) => {
                return Err(Error::CorruptCompressed {
                    codec,
                    reason: error.to_string(),
                });
            }
        };
        if read < grow {
            break;
        }
    }
    if res.len() > limit {
        return Err(Error::DecompressedTooLarge { limit });
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn snappy_uses_xerial_framing_with_32_kib_blocks() {
        let data: Vec<u8> = (0..80_000u32).map(|index| (index % 13) as u8).collect();
        let compressed = compress(Compression::Snappy, &data).unwrap();
        assert_eq!(compressed[..16], XERIAL_HEADER);
        let mut rest = &compressed[16..];
        let mut blocks = Vec::new();
        while let Some((length, after)) = rest.split_first_chunk::<4>() {
            let length = u32::from_be_bytes(*length) as usize;
            let block = snap::raw::Decoder::new()
                .decompress_vec(&after[..length])
                .unwrap();
            blocks.push(block.len());
            rest = &after[length..];
        }
        assert_eq!(blocks, vec![32 * 1024, 32 * 1024, 80_000 - 64 * 1024]);
    }

    #[test]
    fn lz4_frames_use_independent_64_kib_blocks() {
        let compressed = compress(Compression::Lz4, b"hello").unwrap();
        assert_eq!(compressed[..4], [0x04, 0x22, 0x4d, 0x18], "LZ4 frame magic");
        // FLG: version 01, independent blocks, no checksums, no content size. BD: 64 KiB.
        assert_eq!(compressed[4], 0b0110_0000);
        assert_eq!(compressed[5], 0b0100_0000);
    }

    #[test]
    fn the_cap_is_inclusive() {
        let data = vec![7u8; 100_000];
        for codec in Compression::ALL {
            let compressed = compress(codec, &data).unwrap();
            assert_eq!(
                decompress(codec, &compressed, data.len()),
                Ok(data.clone()),
                "{codec}"
            );
            assert_eq!(
                decompress(codec, &compressed, data.len() - 1),
                Err(Error::DecompressedTooLarge {
                    limit: data.len() - 1
                }),
                "{codec}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip(data in proptest::collection::vec(0u8..4, 0..70_000), index in 0usize..5) {
            let codec = Compression::ALL[index];
            let compressed = compress(codec, &data).unwrap();
            prop_assert_eq!(decompress(codec, &compressed, data.len()).unwrap(), data);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data: Vec<u8>, index in 0usize..5) {
            let codec = Compression::ALL[index];
            if let Ok(res) = decompress(codec, &data, 1 << 16) {
                prop_assert!(res.len() <= 1 << 16);
            }
        }
    }
}
