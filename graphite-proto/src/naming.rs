//! [`Naming`]: a prefix and default tags applied to every series, the same
//! way for the direct client and the background sender.

use crate::path::{MetricPath, NameError};

/// A prefix prepended to every name and tags added to every series that
/// does not set them. Empty by default, and then free.
///
/// ```
/// use graphite_proto::{MetricPath, Naming};
///
/// let naming = Naming::default().with_prefix("prod.web1")?.with_default_tags([("dc", "eu")])?;
/// let path = naming.apply(&MetricPath::new("cpu;dc=us")?)?;
/// assert_eq!(path.as_str(), "prod.web1.cpu;dc=us");
/// # Ok::<(), graphite_proto::NameError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Naming {
    prefix: Option<MetricPath>,
    default_tags: Vec<(String, String)>,
}

impl Naming {
    /// Sets the prefix; it must be a plain (untagged) path.
    #[must_use = "returns the new naming"]
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self, NameError> {
        let path = MetricPath::new(prefix)?;
        if path.is_tagged() {
            return Err(NameError::SeparatorInPart {
                part: 0,
                ch: ';',
                offset: path.name().len(),
            });
        }
        self.prefix = Some(path);
        Ok(self)
    }

    /// Sets the default tags, checked as carbon would check them.
    #[must_use = "returns the new naming"]
    pub fn with_default_tags<I, K, V>(mut self, tags: I) -> Result<Self, NameError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let tags: Vec<(String, String)> = tags
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        // Validated once, through the same rules as any series.
        MetricPath::tagged("x", tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        self.default_tags = tags;
        Ok(self)
    }

    /// The prefix.
    pub fn prefix(&self) -> Option<&MetricPath> {
        self.prefix.as_ref()
    }

    /// The default tags.
    pub fn default_tags(&self) -> &[(String, String)] {
        &self.default_tags
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.prefix.is_none() && self.default_tags.is_empty()
    }

    /// `path` with the prefix and the missing default tags; fails when the
    /// result is not a valid series (too long, for instance).
    pub fn apply(&self, path: &MetricPath) -> Result<MetricPath, NameError> {
        let path = match &self.prefix {
            Some(prefix) => path.with_prefix(prefix)?,
            None => path.clone(),
        };
        let missing: Vec<(&str, &str)> = self
            .default_tags
            .iter()
            .filter(|(k, _)| path.tags().all(|(own, _)| own != k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if missing.is_empty() {
            return Ok(path);
        }
        MetricPath::tagged(path.name(), path.tags().chain(missing))
    }
}
