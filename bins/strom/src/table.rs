//! Output of the CLI: a [`Table`] of rows printed either as aligned columns for people or as
//! a JSON array of objects (`--output json`) for programs. It does not decide what to show.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Aligned columns with a header line.
    Table,
    /// One JSON document.
    Json,
}

/// Rows under named columns; cells are JSON values so numbers stay numbers in JSON.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<&'static str>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&'static str]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (one value per column).
    pub fn row(&mut self, cells: Vec<Value>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    /// Renders the table in `output` form, ending with a newline.
    pub fn render(&self, output: Output) -> String {
        match output {
            Output::Json => {
                let rows: Vec<Value> = self
                    .rows
                    .iter()
                    .map(|row| {
                        let object: Map<String, Value> = self
                            .columns
                            .iter()
                            .map(|column| (*column).to_owned())
                            .zip(row.iter().cloned())
                            .collect();
                        Value::Object(object)
                    })
                    .collect();
                format!("{}\n", Value::Array(rows))
            }
            Output::Table => {
                let cells: Vec<Vec<String>> = self
                    .rows
                    .iter()
                    .map(|row| row.iter().map(cell_text).collect())
                    .collect();
                let mut widths: Vec<usize> = self.columns.iter().map(|c| c.len()).collect();
                for row in &cells {
                    for (width, cell) in widths.iter_mut().zip(row) {
                        *width = (*width).max(cell.chars().count());
                    }
                }
                let mut res = String::new();
                let header: Vec<String> = self.columns.iter().map(|c| c.to_uppercase()).collect();
                push_line(&mut res, &header, &widths);
                for row in &cells {
                    push_line(&mut res, row, &widths);
                }
                res
            }
        }
    }
}

/// The text of a cell in a human table: strings bare, null as `-`, lists comma-separated.
fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(cell_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn push_line(res: &mut String, cells: &[String], widths: &[usize]) {
    let mut line = String::new();
    for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if index + 1 == cells.len() {
            line.push_str(cell);
        } else {
            let _ = write!(line, "{cell:<width$}  ");
        }
    }
    res.push_str(line.trim_end());
    res.push('\n');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[track_caller]
    fn check(output: Output, expect: &str) {
        let mut table = Table::new(&["topic", "partitions", "isr"]);
        table.row(vec![json!("events"), json!(3), json!([1, 2])]);
        table.row(vec![json!("a-much-longer-name"), json!(12), Value::Null]);
        assert_eq!(table.render(output), expect);
    }

    #[test]
    fn table_aligns_columns() {
        check(
            Output::Table,
            "TOPIC               PARTITIONS  ISR\n\
             events              3           1,2\n\
             a-much-longer-name  12          -\n",
        );
    }

    #[test]
    fn json_is_an_array_of_objects() {
        check(
            Output::Json,
            "[{\"isr\":[1,2],\"partitions\":3,\"topic\":\"events\"},\
             {\"isr\":null,\"partitions\":12,\"topic\":\"a-much-longer-name\"}]\n",
        );
    }
}
