//! Whole-file tests over real images and crafted bad inputs.

mod crafted;
mod fixtures;
mod never_panics;

use crate::png::crc32;

/// A PNG chunk with its length and a correct CRC.
pub(super) fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = Vec::with_capacity(data.len() + 12);
    chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
    chunk
}

/// A JPEG marker segment with its length.
pub(super) fn jpeg_segment(marker: u8, data: &[u8]) -> Vec<u8> {
    let mut segment = vec![0xFF, marker];
    segment.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(data);
    segment
}

/// `jpeg` with `segment` inserted right after SOI.
pub(super) fn after_soi(jpeg: &[u8], segment: &[u8]) -> Vec<u8> {
    [&jpeg[..2], segment, &jpeg[2..]].concat()
}

/// `png` with `chunk` inserted right after IHDR (signature 8 + IHDR 25 bytes).
pub(super) fn after_ihdr(png: &[u8], chunk: &[u8]) -> Vec<u8> {
    [&png[..33], chunk, &png[33..]].concat()
}
