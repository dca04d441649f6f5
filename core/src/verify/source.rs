//! Where the verifier reads members from: an opened zip, or a map in memory (tests, intake).

use std::{
    collections::BTreeMap,
    io::{Read, Seek},
};

use crate::{bundle::zip::ZipReader, crypto::column::hex};

/// The members of a bundle, read on demand.
pub trait MemberSource {
    /// Every member name, in any order.
    fn names(&self) -> Vec<String>;
    /// A whole member, refused past `max` bytes.
    fn read(&mut self, name: &str, max: u64) -> Result<Vec<u8>, String>;
    /// Size and SHA-256 of a member, streamed.
    fn digest(&mut self, name: &str) -> Result<(u64, String), String>;
}

impl<R: Read + Seek> MemberSource for ZipReader<R> {
    fn names(&self) -> Vec<String> {
        self.members().iter().map(|m| m.name.clone()).collect()
    }
    fn read(&mut self, name: &str, max: u64) -> Result<Vec<u8>, String> {
        ZipReader::read(self, name, max).map_err(|e| e.to_string())
    }
    fn digest(&mut self, name: &str) -> Result<(u64, String), String> {
        self.copy_to(name, &mut std::io::sink()).map_err(|e| e.to_string())
    }
}

impl MemberSource for BTreeMap<String, Vec<u8>> {
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
    fn read(&mut self, name: &str, max: u64) -> Result<Vec<u8>, String> {
        let bytes = self.get(name).ok_or_else(|| format!("{name} is not in the bundle"))?;
        if bytes.len() as u64 > max {
            return Err(format!("{} bytes, more than the {max} expected", bytes.len()));
        }
        Ok(bytes.clone())
    }
    fn digest(&mut self, name: &str) -> Result<(u64, String), String> {
        let bytes = self.get(name).ok_or_else(|| format!("{name} is not in the bundle"))?;
        Ok((bytes.len() as u64, hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())))
    }
}
