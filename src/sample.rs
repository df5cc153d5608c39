//! Sampling (`run --sample N`): a few rows that show a campaign's variety
//! before the whole of it is rendered. Deterministic: the same jobs give
//! the same sample.

/// What sampling looks at in one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Row key.
    pub key: String,
    /// Avatar looks used.
    pub avatars: Vec<String>,
    /// Voices used.
    pub voices: Vec<String>,
    /// Scene layout, e.g. `avatar+image+avatar` or `template:<id>`.
    pub layout: String,
    /// Languages (of the voices, or locales set).
    pub languages: Vec<String>,
    /// Characters of script in total.
    pub script_chars: usize,
    /// Whether a name-like value (key, title, variables) has non-ASCII
    /// characters: the ones text-to-speech gets wrong.
    pub non_ascii: bool,
}

impl Candidate {
    fn features(&self) -> Vec<(u8, &str)> {
        let mut f: Vec<(u8, &str)> = Vec::new();
        f.extend(self.avatars.iter().map(|a| (0, a.as_str())));
        f.extend(self.voices.iter().map(|v| (1, v.as_str())));
        f.push((2, self.layout.as_str()));
        f.extend(self.languages.iter().map(|l| (3, l.as_str())));
        f.sort();
        f.dedup();
        f
    }
}

/// Picks up to `n` keys: first rows covering every distinct avatar, voice,
/// layout and language (greedy: the row covering the most not yet covered,
/// ties to the longer script, then the key), then alternately the longest
/// remaining script and the longest remaining row with non-ASCII names.
/// Returned in the order picked.
pub fn pick(candidates: &[Candidate], n: usize) -> Vec<String> {
    let mut picked: Vec<usize> = Vec::new();
    let mut taken = vec![false; candidates.len()];
    let mut uncovered: std::collections::BTreeSet<(u8, &str)> =
        candidates.iter().flat_map(Candidate::features).collect();
    let better = |a: &Candidate, b: &Candidate| {
        a.script_chars > b.script_chars || (a.script_chars == b.script_chars && a.key < b.key)
    };
    while picked.len() < n && !uncovered.is_empty() {
        let mut best: Option<(usize, usize)> = None;
        for (i, c) in candidates.iter().enumerate() {
            if taken[i] {
                continue;
            }
            let gain = c.features().iter().filter(|f| uncovered.contains(*f)).count();
            if gain == 0 {
                continue;
            }
            best = match best {
                Some((bi, bg)) if bg > gain || (bg == gain && !better(c, &candidates[bi])) => {
                    Some((bi, bg))
                }
                _ => Some((i, gain)),
            };
        }
        let Some((i, _)) = best else { break };
        for f in candidates[i].features() {
            uncovered.remove(&f);
        }
        taken[i] = true;
        picked.push(i);
    }
    let mut by_length: Vec<usize> = (0..candidates.len()).collect();
    by_length.sort_by(|&a, &b| {
        candidates[b]
            .script_chars
            .cmp(&candidates[a].script_chars)
            .then_with(|| candidates[a].key.cmp(&candidates[b].key))
    });
    let non_ascii: Vec<usize> =
        by_length.iter().copied().filter(|&i| candidates[i].non_ascii).collect();
    let (mut li, mut ni, mut turn_long) = (0, 0, true);
    while picked.len() < n && (li < by_length.len() || ni < non_ascii.len()) {
        let next = if turn_long || ni >= non_ascii.len() {
            let v = by_length.get(li).copied();
            li += 1;
            v
        } else {
            let v = non_ascii.get(ni).copied();
            ni += 1;
            v
        };
        turn_long = !turn_long;
        if let Some(i) = next
            && !taken[i]
        {
            taken[i] = true;
            picked.push(i);
        }
    }
    picked.into_iter().map(|i| candidates[i].key.clone()).collect()
}

/// The sampling view of a job: avatars, voices, layout, languages (from
/// `language` of voice ids, when the catalog is known, else locales),
/// script length and non-ASCII names.
pub fn candidate(job: &crate::render::Job, language: &dyn Fn(&str) -> Option<String>) -> Candidate {
    use serde_json::Value;
    let body = job.request.body_json();
    let mut c = Candidate {
        key: job.key.clone(),
        avatars: Vec::new(),
        voices: Vec::new(),
        layout: String::new(),
        languages: Vec::new(),
        script_chars: 0,
        non_ascii: !job.key.is_ascii() || job.request.title().is_some_and(|t| !t.is_ascii()),
    };
    fn walk(v: &Value, c: &mut Candidate, language: &dyn Fn(&str) -> Option<String>) {
        match v {
            Value::Object(m) => {
                let s = |k: &str| m.get(k).and_then(Value::as_str);
                if let Some(a) = s("avatar_id").or(s("character_id")) {
                    c.avatars.push(a.to_owned());
                }
                if let Some(v) = s("voice_id") {
                    c.voices.push(v.to_owned());
                    if let Some(l) = language(v) {
                        c.languages.push(l);
                    }
                }
                if let Some(l) = s("locale") {
                    c.languages.push(l.to_owned());
                }
                if let Some(t) = s("script").or(s("content")) {
                    c.script_chars += t.chars().count();
                    // A script with a non-ASCII name in it is what a
                    // reviewer wants to hear.
                    c.non_ascii |= !t.is_ascii();
                }
                m.values().for_each(|x| walk(x, c, language));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, c, language)),
            _ => {}
        }
    }
    walk(&body, &mut c, language);
    c.layout = match &job.request {
        crate::render::JobRequest::Template { template_id, .. } => {
            format!("template:{template_id}")
        }
        crate::render::JobRequest::Video(_) => {
            let kind = body.get("type").and_then(Value::as_str).unwrap_or("video").to_owned();
            match body.get("scenes").and_then(Value::as_array) {
                Some(scenes) => {
                    let kinds: Vec<&str> = scenes
                        .iter()
                        .map(|s| s.get("type").and_then(Value::as_str).unwrap_or("scene"))
                        .collect();
                    format!("{kind}:{}", kinds.join("+"))
                }
                None => kind,
            }
        }
    };
    for list in [&mut c.avatars, &mut c.voices, &mut c.languages] {
        list.sort();
        list.dedup();
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(
        key: &str,
        avatar: &str,
        voice: &str,
        layout: &str,
        lang: &str,
        chars: usize,
    ) -> Candidate {
        Candidate {
            key: key.into(),
            avatars: vec![avatar.into()],
            voices: vec![voice.into()],
            layout: layout.into(),
            languages: vec![lang.into()],
            script_chars: chars,
            non_ascii: !key.is_ascii(),
        }
    }

    fn campaign() -> Vec<Candidate> {
        let avatars = ["A1", "A2", "A3"];
        let voices = ["V1", "V2"];
        let langs = ["en", "de", "fr"];
        (0..60)
            .map(|i| {
                let key = if i == 41 { "zoë".to_owned() } else { format!("k{i:02}") };
                cand(
                    &key,
                    avatars[i % 3],
                    voices[i % 2],
                    if i % 7 == 0 { "studio:avatar+image" } else { "avatar" },
                    langs[i % 3],
                    100 + (i * 37) % 90,
                )
            })
            .collect()
    }

    #[test]
    fn covers_every_distinct_value_first() {
        let c = campaign();
        for n in [4, 6, 10] {
            let picked = pick(&c, n);
            assert_eq!(picked.len(), n);
            let chosen: Vec<&Candidate> =
                picked.iter().map(|k| c.iter().find(|x| &x.key == k).unwrap()).collect();
            let all: std::collections::BTreeSet<_> = c.iter().flat_map(|x| x.features()).collect();
            let got: std::collections::BTreeSet<_> =
                chosen.iter().flat_map(|x| x.features()).collect();
            assert_eq!(got, all, "n={n}: every avatar, voice, layout and language is covered");
        }
    }

    #[test]
    fn then_long_scripts_and_non_ascii_names() {
        let c = campaign();
        let cover = pick(&c, 100).len();
        assert_eq!(cover, 60, "asking for more than there is gives every row once");
        let ten = pick(&c, 10);
        assert!(ten.contains(&"zoë".to_owned()), "{ten:?}");
        let longest = c
            .iter()
            .max_by(|a, b| a.script_chars.cmp(&b.script_chars).then(b.key.cmp(&a.key)))
            .unwrap();
        assert!(ten.contains(&longest.key), "{ten:?}");
    }

    #[test]
    fn deterministic_and_independent_of_input_order() {
        let c = campaign();
        let mut reversed = c.clone();
        reversed.reverse();
        let a = pick(&c, 8);
        assert_eq!(a, pick(&c, 8));
        let mut x = a.clone();
        let mut y = pick(&reversed, 8);
        x.sort();
        y.sort();
        assert_eq!(x, y);
    }
}
