//! Exporting a build's result: layers from snapshots ([`export_layer`]) and
//! the image's config and manifest ([`ImageDoc`]) in the content store.

mod image;
mod layer;

pub use image::{ImageDoc, LayerDesc};
pub use layer::{export_layer, Layer, LayerError};
