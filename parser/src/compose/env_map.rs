//! An insertion-ordered `KEY -> value` map.
//!
//! compose-go keeps environments in Go maps, whose order is unspecified; kiln
//! keeps the order in which keys were first set, so that output (`kiln debug
//! compose dotenv`) lists keys in file order. Setting a key again replaces its
//! value and keeps its position.

use std::collections::HashMap;

/// An insertion-ordered map from variable names to values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvMap<V = String> {
    entries: Vec<(String, V)>,
    index: HashMap<String, usize>,
}

impl<V> Default for EnvMap<V> {
    fn default() -> Self {
        EnvMap {
            entries: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<V> EnvMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`; a key already set keeps its position.
    pub fn insert(&mut self, key: impl Into<String>, value: V) {
        let key = key.into();
        match self.index.get(&key) {
            Some(&at) => self.entries[at].1 = value,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.index.get(key).map(|&at| &self.entries[at].1)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// The entries in the order their keys were first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Into<String>, V> FromIterator<(K, V)> for EnvMap<V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = EnvMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl<V> IntoIterator for EnvMap<V> {
    type Item = (String, V);
    type IntoIter = std::vec::IntoIter<(String, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_set_again_keeps_its_first_position() {
        let mut map = EnvMap::new();
        map.insert("B", "1");
        map.insert("A", "2");
        map.insert("B", "3");
        let entries: Vec<_> = map.iter().collect();
        assert_eq!(entries, [("B", &"3"), ("A", &"2")]);
        assert_eq!(map.get("B"), Some(&"3"));
        assert!(!map.contains_key("C"));
    }
}
