//! Markup and script hidden in image metadata.
//!
//! Decision: we look for HTML/script/PHP openers in the *metadata* of every accepted file
//! (JPEG APPn/COM segments, PNG text and other ancillary chunks, WebP EXIF/XMP and unknown
//! chunks), over its whole length, and never in the compressed pixel data.
//!
//! - Why not "the first 1 KiB after the header": a payload placed at byte 1,025 walks past
//!   such a check, so it would only catch the laziest attempts while looking like a guard.
//! - Why metadata: text-carrying segments are where a file is made to double as an HTML
//!   page or a PHP include while still walking cleanly as an image. Real camera and editor
//!   metadata is EXIF, ICC and XMP; XMP is XML (`<x:xmpmeta`, `<rdf:RDF`) and never
//!   contains these openers, so false positives need a person to have typed markup into a
//!   caption, which an ID photo or property photo has no reason to carry.
//! - Why not pixel data: it is entropy-coded or deflated, so a match there is chance
//!   (rare, but over millions of uploads it would refuse real photos) and carries no
//!   meaning a browser or interpreter would act on without the rest of a page around it.
//!
//! This is one layer, not the defence: files are served with the sniffed type,
//! `X-Content-Type-Options: nosniff` and never executed or included, which is what makes
//! an undetected payload harmless.

const OPENERS: &[&[u8]] = &[
    b"<script",
    b"<html",
    b"<?php",
    b"<!doctype",
    b"<iframe",
    b"<body",
    b"<svg",
];

/// Whether `bytes` contain any [`OPENERS`], ignoring ASCII case.
pub(crate) fn contains_markup(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'<'
            && OPENERS.iter().any(|opener| {
                bytes
                    .get(i..i + opener.len())
                    .is_some_and(|window| window.eq_ignore_ascii_case(opener))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_openers_in_any_case_anywhere() {
        assert!(contains_markup(b"<script>alert(1)</script>"));
        assert!(contains_markup(b"caption: <ScRiPt src=x>"));
        assert!(contains_markup(b"\0\0<?PHP system($_GET['c']); ?>"));
        assert!(contains_markup(b"<!DOCTYPE html><p>hi"));
        assert!(contains_markup(&[&[0u8; 5000][..], b"<html>"].concat()));
    }

    #[test]
    fn ordinary_metadata_is_not_markup() {
        let xmp = br#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"><tiff:Make>Canon</tiff:Make>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;
        assert!(!contains_markup(xmp));
        assert!(!contains_markup(b"Exif\0\0MM\0*"));
        assert!(!contains_markup(b"a < b, <scrip"));
        assert!(!contains_markup(b""));
    }
}
