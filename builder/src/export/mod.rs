//! Exporting a build's result: layers from snapshots ([`export_layer`],
//! [`export_committed`]), built layers as blobs on demand ([`built_layer`])
//! and the image's config and manifest ([`ImageDoc`]) in the content store.

mod built;
mod image;
mod layer;

pub use built::{built_layer, media_type};
pub use image::{ImageDoc, ImageWriteError, LayerDesc};
pub use layer::{export_committed, export_layer, Layer, LayerError};
