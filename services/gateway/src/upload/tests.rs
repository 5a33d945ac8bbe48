use std::task::Poll;

use bytes::Bytes;
use futures::stream;
use rentory_media::fixtures;

use super::*;

#[test]
fn the_capped_buffer_takes_up_to_the_limit_and_keeps_nothing_past_it() {
    let mut buf = CappedBuffer::new(10);
    assert_eq!(buf.push(b"12345"), Ok(()));
    assert_eq!(buf.push(b"67890"), Ok(()));
    assert_eq!(buf.push(b""), Ok(()));
    assert_eq!(buf.push(b"x"), Err(Exceeded));
    assert_eq!(buf.as_slice(), b"1234567890");

    let mut buf = CappedBuffer::new(4);
    assert_eq!(buf.push(b"12345"), Err(Exceeded));
    assert!(buf.as_slice().is_empty());
}

type Chunk = Result<Bytes, std::convert::Infallible>;

/// Yields `chunks`, then panics if anyone reads further: proof that reading stopped.
fn chunks_then_panic(chunks: Vec<Vec<u8>>) -> impl futures::Stream<Item = Chunk> {
    let mut chunks = chunks.into_iter();
    stream::poll_fn(move |_| match chunks.next() {
        Some(chunk) => Poll::Ready(Some(Ok(Bytes::from(chunk)))),
        None => panic!("read past the point where it should have stopped"),
    })
}

#[tokio::test]
async fn reading_stops_at_the_first_chunk_over_the_cap() {
    let over = chunks_then_panic(vec![vec![0xFF, 0xD8, 0xFF, 0xE0], vec![0; 60], vec![0; 60]]);
    let result = read_capped(over, 100, true).await;
    assert!(matches!(result, Err(ReadError::TooLarge)), "{result:?}");
}

#[tokio::test]
async fn reading_stops_as_soon_as_the_first_bytes_are_not_an_image() {
    let html = chunks_then_panic(vec![b"<html><script>alert(1)</script>".to_vec()]);
    let result = read_capped(html, 1_000_000, true).await;
    assert!(matches!(result, Err(ReadError::NotAnImage)), "{result:?}");
}

#[tokio::test]
async fn a_whole_image_under_the_cap_is_read_in_any_chunking() {
    for size in [1, 7, 12, 1000] {
        let chunks: Vec<Chunk> = fixtures::PNG_16
            .chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let data = read_capped(stream::iter(chunks), fixtures::PNG_16.len(), true)
            .await
            .expect("read");
        assert_eq!(&data[..], fixtures::PNG_16);
    }
}

#[tokio::test]
async fn tiny_or_empty_files_are_not_images_and_text_is_not_sniffed() {
    let empty = stream::iter(Vec::<Chunk>::new());
    assert!(matches!(
        read_capped(empty, 100, true).await,
        Err(ReadError::NotAnImage)
    ));
    let text = stream::iter(vec![Ok::<_, std::convert::Infallible>(Bytes::from_static(
        b"Ada",
    ))]);
    assert_eq!(
        read_capped(text, 100, false).await.ok(),
        Some(Bytes::from_static(b"Ada"))
    );
}

#[test]
fn image_checks_refuse_lies_polyglots_and_huge_canvases() {
    let limits = UploadLimits::new(1024 * 1024);
    assert!(
        check_image(
            "id_image",
            fixtures::JPEG_16_BASELINE,
            "image/jpeg",
            &limits
        )
        .is_ok()
    );
    assert!(check_image("id_image", fixtures::PNG_16, "", &limits).is_ok());

    let lie = check_image("id_image", fixtures::PNG_16, "image/jpeg", &limits).err();
    assert_eq!(lie.as_ref().map(|p| p.status), Some(415));
    assert_eq!(
        lie.map(|p| p.errors[0].field.clone()).as_deref(),
        Some("id_image")
    );

    let mut polyglot = fixtures::JPEG_16_BASELINE.to_vec();
    polyglot.extend_from_slice(b"PK\x03\x04 a zip archive follows");
    let p = check_image("face_scan", &polyglot, "image/jpeg", &limits).err();
    assert_eq!(p.map(|p| p.status), Some(415));

    let small = UploadLimits {
        image: rentory_media::Limits {
            max_side: 8,
            max_pixels: 64,
        },
        ..limits
    };
    let p = check_image("face_scan", fixtures::PNG_16, "image/png", &small).err();
    assert_eq!(p.as_ref().map(|p| p.status), Some(422));
    assert_eq!(p.and_then(|p| p.kind()), Some(ProblemType::ImageTooLarge));
}

#[test]
fn the_body_cap_leaves_room_for_the_files_and_the_text() {
    let limits = UploadLimits::new(5 * 1024 * 1024);
    assert!(limits.body_cap(2) > 2 * 5 * 1024 * 1024);
    assert!(limits.body_cap(2) < 11 * 1024 * 1024);
}
