//! Conflicting response keys (async-graphql's OverlappingFieldsCanBeMerged, with its messages
//! and locations): in each selection set, every field under a response key must be the same
//! field with the same arguments as the first one under it, counting the fields the set
//! selects directly, through inline fragments and through fragment spreads (each fragment
//! once per set). Like async-graphql, each selection set is checked on its own, so a conflict
//! inside a fragment or an inline fragment is reported for it and again for each set that
//! takes it in.
//!
//! Unlike async-graphql, which kept the fields of a fragment apart from those around it
//! (it keyed them by the fragment's type condition), all are compared: this schema has no
//! interfaces or unions, so they land in the same object and the same key.
//!
//! The work is bounded by a budget the whole document shares (see [`check`]); validation
//! refuses a document that spends it as too complex.

use super::syntax::{Document, Field, Selection, SelectionSet};
use super::GqlError;
use std::collections::HashMap;

/// What one conflict reported costs from the budget, against one for a selection walked or an
/// argument compared: so that the errors a crafted document can make stay a few thousand.
const ERROR_COST: usize = 64;

/// Checks `set`, reporting conflicts to `errors` and spending from `budget`; stops once it is
/// spent (zero).
pub fn check<'a>(doc: &'a Document, set: &'a SelectionSet, budget: &mut usize, errors: &mut Vec<GqlError>) {
    let mut first: HashMap<&str, &Field> = HashMap::new();
    let mut visited: Vec<&str> = Vec::new();
    // Depth first without recursion: the fragments an operation does not reach can nest more
    // deeply than the recursion bound, which only follows operations, lets through.
    let mut stack = vec![set.items.iter()];
    while let Some(top) = stack.last_mut() {
        let Some(selection) = top.next() else {
            stack.pop();
            continue;
        };
        if !spend(budget, 1) {
            return;
        }
        match selection {
            Selection::Field(field) => match first.get(field.key()) {
                Some(prev) => compare(prev, field, budget, errors),
                None => {
                    first.insert(field.key(), field);
                }
            },
            Selection::Inline { selection_set, .. } => stack.push(selection_set.items.iter()),
            Selection::Spread { name, .. } => {
                if let Some(fragment) = doc.fragment(&name.name) {
                    if !visited.contains(&name.name.as_str()) {
                        visited.push(&name.name);
                        stack.push(fragment.selection_set.items.iter());
                    }
                }
            }
        }
    }
}

/// async-graphql's comparison of a field with the first under its key: one error if the
/// fields differ, one if the numbers of arguments do, and one for each argument of the first
/// that the second (its first of that name) does not give alike. All are located at both.
fn compare(prev: &Field, field: &Field, budget: &mut usize, errors: &mut Vec<GqlError>) {
    let differing = "they have differing arguments";
    let mut subjects: Vec<&str> = Vec::new();
    if prev.arguments.len() != field.arguments.len() {
        subjects.push(field.key());
    }
    for a in &prev.arguments {
        let found = field.arguments.iter().position(|b| b.name.name == a.name.name);
        if !spend(budget, found.map_or(field.arguments.len(), |i| i + 1)) {
            break;
        }
        if found.and_then(|i| field.arguments.get(i)).is_none_or(|b| b.value != a.value) {
            subjects.push(&a.name.name);
        }
    }
    let fields = (prev.name.name != field.name.name).then(|| format!("\"{}\" and \"{}\" are different fields", prev.name.name, field.name.name));
    for (subject, why) in fields.iter().map(|w| (field.key(), w.as_str())).chain(subjects.into_iter().map(|s| (s, differing))) {
        spend(budget, ERROR_COST);
        let message = format!("Fields \"{subject}\" conflict because {why}. Use different aliases on the fields to fetch both if this was intentional.");
        errors.push(GqlError::new(message, Some(vec![prev.pos, field.pos])));
    }
}

/// Takes `n` from `budget`; false, leaving it zero, when it does not hold that much.
fn spend(budget: &mut usize, n: usize) -> bool {
    match budget.checked_sub(n) {
        Some(left) if left > 0 => {
            *budget = left;
            true
        }
        _ => {
            *budget = 0;
            false
        }
    }
}
