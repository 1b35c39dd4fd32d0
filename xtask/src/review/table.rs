//! A plain-text table with aligned columns and cells of several lines.

use super::Palette;

pub(crate) type Paint = fn(Palette, &str) -> String;

pub(crate) struct Table {
    header: Vec<&'static str>,
    rows: Vec<Row>,
}

struct Row {
    cells: Vec<Vec<String>>,
    paint: Option<Paint>,
    below: Vec<String>,
}

impl Table {
    pub(crate) fn new(header: Vec<&'static str>) -> Table {
        Table {
            header,
            rows: Vec::new(),
        }
    }

    /// Adds a row; each cell may hold several lines. `paint` colours the whole row; `below`
    /// are lines (already styled) printed under it, indented past the first column.
    pub(crate) fn row(
        &mut self,
        cells: Vec<Vec<String>>,
        paint: Option<Paint>,
        below: Vec<String>,
    ) {
        self.rows.push(Row {
            cells,
            paint,
            below,
        });
    }

    pub(crate) fn render(&self, indent: &str, palette: Palette) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.cells.iter().enumerate().take(columns) {
                for line in cell {
                    widths[i] = widths[i].max(line.chars().count());
                }
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|h| (*h).to_owned()).collect();
        out.push_str(indent);
        out.push_str(&palette.dim(&join_padded(&header, &widths)));
        out.push('\n');
        for row in &self.rows {
            let height = row.cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            for line_no in 0..height {
                let cells: Vec<String> = (0..columns)
                    .map(|i| {
                        row.cells
                            .get(i)
                            .and_then(|cell| cell.get(line_no))
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect();
                let line = join_padded(&cells, &widths);
                out.push_str(indent);
                match row.paint {
                    Some(paint) => out.push_str(&paint(palette, &line)),
                    None => out.push_str(&line),
                }
                out.push('\n');
            }
            let first = widths.first().copied().unwrap_or(0) + 2;
            for line in &row.below {
                out.push_str(indent);
                out.push_str(&" ".repeat(first));
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

fn join_padded(cells: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        if i + 1 < cells.len() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            line.push_str(&" ".repeat(pad));
        }
    }
    line.trim_end().to_owned()
}
