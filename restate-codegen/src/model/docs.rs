//! Proto comments, read from the source info protoc keeps with `--include_source_info`.

use std::collections::HashMap;

use prost_reflect::FileDescriptor;

/// The leading comment of the element at `path` in `file`, with the indentation common to its
/// lines and blank lines around it removed; `None` when there is no comment.
pub(crate) fn leading_comment(file: &FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info.location.iter().find(|l| l.path == path)?;
    tidy(location.leading_comments.as_deref()?)
}

/// The leading comments of every element of the files seen so far, by file and path: for
/// callers that look up many elements (a linear scan per lookup is quadratic on large files).
/// File names identify files, so one index serves one descriptor pool.
#[derive(Debug, Default)]
pub(crate) struct CommentIndex {
    files: HashMap<String, HashMap<Vec<i32>, Option<String>>>,
}

impl CommentIndex {
    /// As [`leading_comment`].
    pub(crate) fn leading(&mut self, file: &FileDescriptor, path: &[i32]) -> Option<String> {
        self.files
            .entry(file.name().to_owned())
            .or_insert_with(|| index(file))
            .get(path)
            .cloned()
            .flatten()
    }
}

/// The tidied leading comment of each path of `file`; the first location of a path decides, as
/// in [`leading_comment`].
fn index(file: &FileDescriptor) -> HashMap<Vec<i32>, Option<String>> {
    let mut comments = HashMap::new();
    if let Some(info) = file.file_descriptor_proto().source_code_info.as_ref() {
        for location in &info.location {
            comments
                .entry(location.path.clone())
                .or_insert_with(|| location.leading_comments.as_deref().and_then(tidy));
        }
    }
    comments
}

/// Trims a raw comment: trailing spaces, the indentation all lines share (protoc keeps the space
/// after `//`), and leading or trailing blank lines.
fn tidy(raw: &str) -> Option<String> {
    let lines: Vec<&str> = raw.lines().map(str::trim_end).collect();
    let indent = lines
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| line.len() - line.trim_start_matches([' ', '\t']).len())
        .min()?;
    let lines: Vec<&str> = lines
        .iter()
        .map(|line| line.get(indent..).unwrap_or_default())
        .collect();
    let first = lines.iter().position(|line| !line.is_empty())?;
    let last = lines.iter().rposition(|line| !line.is_empty())?;
    Some(lines[first..=last].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::tidy;

    #[test]
    fn strips_shared_indentation_and_blank_edges() {
        let raw = "\n Adds to the counter.\n\n Example:\n   add(1)\n";
        assert_eq!(
            tidy(raw).as_deref(),
            Some("Adds to the counter.\n\nExample:\n  add(1)")
        );
    }

    #[test]
    fn blank_comments_are_none() {
        assert_eq!(tidy("  \n\n"), None);
    }
}
