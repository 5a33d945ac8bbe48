//! Multipart uploads, streamed: every part is read chunk by chunk against its own cap and
//! refused (413) the moment it passes it, without buffering the rest; files that do not
//! start like an image are refused (415) after their first bytes. Whole files are then
//! checked with `rentory_media` before any service is called, so a bad upload changes
//! nothing anywhere.

use std::collections::HashMap;

use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use rentory_media::{
    ImageFormat, ImageInfo, Limits, MediaErrorKind, SNIFF_LEN, check_declared, inspect, sniff,
};

use crate::problem::{FieldError, Problem, ProblemType};

/// Text parts are names, PINs, short bios: never more than this.
pub const MAX_TEXT_BYTES: usize = 4 * 1024;
/// Room for text parts, part headers and boundaries on top of the files themselves.
const FORM_OVERHEAD_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    pub max_file_bytes: usize,
    pub max_text_bytes: usize,
    pub image: Limits,
}

impl UploadLimits {
    pub fn new(max_file_bytes: usize) -> Self {
        Self {
            max_file_bytes,
            max_text_bytes: MAX_TEXT_BYTES,
            image: Limits::default(),
        }
    }

    /// The whole-body cap for a form carrying `files` files.
    pub fn body_cap(&self, files: usize) -> usize {
        self.max_file_bytes
            .saturating_mul(files)
            .saturating_add(FORM_OVERHEAD_BYTES)
    }
}

/// Which parts a form has. Unknown parts are skipped (their size is still bounded by the
/// whole-body cap).
pub struct FormSpec {
    pub required_texts: &'static [&'static str],
    pub optional_texts: &'static [&'static str],
    /// Image parts sent exactly once.
    pub files: &'static [&'static str],
    /// Image parts sent one or more times under the same name.
    pub file_lists: &'static [FileList],
    /// The cap on each text part; `None` for [`UploadLimits::max_text_bytes`].
    pub max_text_bytes: Option<usize>,
}

/// An image part that may repeat (`photos`): at least once, at most `max` times.
pub struct FileList {
    pub name: &'static str,
    pub max: usize,
}

/// An uploaded image that passed the edge checks.
#[derive(Debug, Clone)]
pub struct Image {
    pub data: Bytes,
    pub declared_content_type: String,
    /// What the bytes are, whatever was declared (an empty declared type is accepted).
    pub format: ImageFormat,
}

#[derive(Debug, Default)]
pub struct Form {
    texts: HashMap<&'static str, String>,
    files: HashMap<&'static str, Image>,
    lists: HashMap<&'static str, Vec<Image>>,
}

impl Form {
    /// A text part; empty when an optional part was not sent.
    pub fn text(&self, name: &str) -> &str {
        self.texts.get(name).map(String::as_str).unwrap_or_default()
    }

    pub fn take_image(&mut self, name: &str) -> Option<Image> {
        self.files.remove(name)
    }

    /// The images of a [`FileList`], in the order they were sent.
    pub fn take_images(&mut self, name: &str) -> Vec<Image> {
        self.lists.remove(name).unwrap_or_default()
    }
}

/// `multipart/form-data` or 415; a malformed body is 400.
pub struct MultipartBody(pub Multipart);

impl<S: Send + Sync> FromRequest<S> for MultipartBody {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if !is_form {
            return Err(Problem::new(
                ProblemType::UnsupportedMediaType,
                "the body must be multipart/form-data",
            ));
        }
        Multipart::from_request(request, state)
            .await
            .map(Self)
            .map_err(|_| Problem::malformed("the multipart body has no valid boundary"))
    }
}

/// Reads every part of `multipart` as `spec` says, checking caps while reading and images
/// once each file is complete.
pub async fn read_form(
    MultipartBody(mut multipart): MultipartBody,
    spec: &FormSpec,
    limits: &UploadLimits,
) -> Result<Form, Problem> {
    let mut form = Form::default();
    let max_text_bytes = spec.max_text_bytes.unwrap_or(limits.max_text_bytes);
    while let Some(field) = multipart.next_field().await.map_err(multipart_problem)? {
        let Some(name) = field.name() else { continue };
        if let Some(&name) = spec.files.iter().find(|f| **f == name) {
            if form.files.contains_key(name) {
                return Err(Problem::invalid_field(name, "is given more than once"));
            }
            let image = read_image(field, name, limits).await?;
            form.files.insert(name, image);
        } else if let Some(list) = spec.file_lists.iter().find(|l| l.name == name) {
            let images = form.lists.entry(list.name).or_default();
            // Refused before the extra part is read: counting is free, reading is not.
            if images.len() >= list.max {
                return Err(Problem::invalid_field(
                    list.name,
                    format!("at most {} files are accepted", list.max),
                ));
            }
            images.push(read_image(field, list.name, limits).await?);
        } else if let Some(&name) = spec
            .required_texts
            .iter()
            .chain(spec.optional_texts)
            .find(|t| **t == name)
        {
            if form.texts.contains_key(name) {
                return Err(Problem::invalid_field(name, "is given more than once"));
            }
            let data = read_capped(field, max_text_bytes, false)
                .await
                .map_err(|e| e.into_problem(name, max_text_bytes))?;
            let text = String::from_utf8(data.to_vec())
                .map_err(|_| Problem::invalid_field(name, "must be UTF-8 text"))?;
            form.texts.insert(name, text);
        }
        // Anything else is skipped: multer discards an unread part when asked for the next.
    }
    let missing: Vec<FieldError> = spec
        .required_texts
        .iter()
        .filter(|t| !form.texts.contains_key(**t))
        .chain(spec.files.iter().filter(|f| !form.files.contains_key(**f)))
        .chain(
            spec.file_lists
                .iter()
                .map(|l| &l.name)
                .filter(|name| !form.lists.contains_key(**name)),
        )
        .map(|name| FieldError {
            field: (*name).to_owned(),
            message: "is required".to_owned(),
        })
        .collect();
    if !missing.is_empty() {
        return Err(
            Problem::new(ProblemType::ValidationFailed, "some fields are missing")
                .with_errors(missing),
        );
    }
    Ok(form)
}

/// One image part: streamed against the per-file cap, then checked whole.
async fn read_image(
    field: axum::extract::multipart::Field<'_>,
    name: &str,
    limits: &UploadLimits,
) -> Result<Image, Problem> {
    let declared = field.content_type().unwrap_or_default().to_owned();
    let data = read_capped(field, limits.max_file_bytes, true)
        .await
        .map_err(|e| e.into_problem(name, limits.max_file_bytes))?;
    let info = check_image(name, &data, &declared, limits)?;
    Ok(Image {
        data,
        declared_content_type: declared,
        format: info.format,
    })
}

fn multipart_problem(error: MultipartError) -> Problem {
    if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            ProblemType::PayloadTooLarge,
            "the request body is too large",
        )
    } else {
        tracing::debug!(error = %error.body_text(), "malformed multipart body");
        Problem::malformed("the multipart body is malformed")
    }
}

/// Structure, dimensions and the declared type of a complete upload.
fn check_image(
    field: &str,
    data: &[u8],
    declared: &str,
    limits: &UploadLimits,
) -> Result<ImageInfo, Problem> {
    let checked = inspect(data, &limits.image).and_then(|info| {
        check_declared(declared, info.format)?;
        Ok(info)
    });
    checked.map_err(|e| {
        let kind = match e.kind() {
            MediaErrorKind::UnsupportedMedia => ProblemType::UnsupportedMediaType,
            MediaErrorKind::Unprocessable => ProblemType::ImageTooLarge,
            MediaErrorKind::Undecodable => ProblemType::ValidationFailed,
        };
        // MediaError texts are written to be shown to the uploader.
        Problem::new(kind, "the uploaded image is not accepted").with_field(field, e.to_string())
    })
}

/// Why reading one part stopped.
#[derive(Debug)]
pub enum ReadError<E> {
    /// Over the cap: nothing more was read.
    TooLarge,
    /// The first bytes are not those of an accepted image format.
    NotAnImage,
    Stream(E),
}

impl ReadError<MultipartError> {
    fn into_problem(self, field: &str, limit: usize) -> Problem {
        match self {
            ReadError::TooLarge => Problem::new(
                ProblemType::PayloadTooLarge,
                "a part of the request is too large",
            )
            .with_field(field, format!("must be at most {limit} bytes")),
            ReadError::NotAnImage => Problem::new(
                ProblemType::UnsupportedMediaType,
                "the uploaded image is not accepted",
            )
            .with_field(field, "must be a JPEG, PNG or WebP image"),
            ReadError::Stream(e) => multipart_problem(e),
        }
    }
}

/// A buffer that refuses to grow past `limit`.
#[derive(Debug)]
pub struct CappedBuffer {
    limit: usize,
    buf: BytesMut,
}

/// The cap was passed; the chunk that passed it was not kept.
#[derive(Debug, PartialEq, Eq)]
pub struct Exceeded;

impl CappedBuffer {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            buf: BytesMut::new(),
        }
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Exceeded> {
        if chunk.len() > self.limit - self.buf.len() {
            return Err(Exceeded);
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    pub fn freeze(self) -> Bytes {
        self.buf.freeze()
    }
}

/// Reads `stream` to its end or until it passes `limit`, whichever comes first; with
/// `must_be_image`, stops as soon as the first bytes show it is not an image.
pub async fn read_capped<S, E>(
    stream: S,
    limit: usize,
    must_be_image: bool,
) -> Result<Bytes, ReadError<E>>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut buf = CappedBuffer::new(limit);
    let mut sniffed = !must_be_image;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(ReadError::Stream)?;
        buf.push(&chunk).map_err(|Exceeded| ReadError::TooLarge)?;
        if !sniffed && buf.as_slice().len() >= SNIFF_LEN {
            sniffed = true;
            if sniff(buf.as_slice()).is_none() {
                return Err(ReadError::NotAnImage);
            }
        }
    }
    if !sniffed && sniff(buf.as_slice()).is_none() {
        return Err(ReadError::NotAnImage);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests;
