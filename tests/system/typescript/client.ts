// A client of sqlapi written against the types openapi-typescript generates from the
// OpenAPI document (tests/test_typescript.py writes sample.d.ts and edge.d.ts beside this
// file). It must compile under `strict` with no type assertion, non-null assertion, `any` or
// ts-comment: every type below comes from the document. Each value is assigned to a variable
// of an explicit type, so a looser generated type (`unknown`, `| undefined`, `any` aside)
// fails to compile here. run.mjs runs the compiled file against live servers.
import createClient from "openapi-fetch";
import type { paths as EdgePaths } from "./edge.d.ts";
import type { paths as SamplePaths } from "./sample.d.ts";

export interface BooksSummary {
  firstUrl: string;
  ids: number[];
  years: (number | null)[];
  titles: string[];
  secondPageIds: number[];
  byKey: { id: number; title: string; year: number | null };
  dataTable: string;
  dataTitles: string[];
}

export interface EdgeSummary {
  strict: { id: number; i: number | null; b: string | null }[];
  compound: { a: string; b: number; note: string | null }[];
  byKey: { a: string; b: number; note: string | null };
}

export async function books(baseUrl: string): Promise<BooksSummary> {
  // "application/json": the answers this client asks for (the document also lists the
  // ndjson and csv streams of the same operations).
  const client = createClient<SamplePaths, "application/json">({
    baseUrl,
    // The document's `filters` parameter is style form, explode true: each member is its
    // own query parameter (year__gte=2000), not filters[year__gte]=2000.
    querySerializer: { object: { style: "form", explode: true } },
  });

  const first = await client.GET("/api/tables/books/rows", {
    params: { query: { _limit: 5, filters: { year__gte: 2000 } } },
  });
  if (!first.data) throw new Error(`rows: ${first.response.status}`);
  const ids: number[] = [];
  const years: (number | null)[] = [];
  const titles: string[] = [];
  for (const row of first.data.rows) {
    const id: number = row.id;
    const title: string = row.title;
    const year: number | null = row.year;
    ids.push(id);
    titles.push(title);
    years.push(year);
  }
  const next: string | null = first.data.next;
  if (next === null) throw new Error("no second page");

  const second = await client.GET("/api/tables/books/rows", {
    params: { query: { _limit: 5, filters: { year__gte: 2000 }, _after: next } },
  });
  if (!second.data) throw new Error(`second page: ${second.response.status}`);
  const secondPageIds: number[] = second.data.rows.map((row) => row.id);

  const firstRow = first.data.rows[0];
  if (firstRow === undefined) throw new Error("an empty first page");
  const one = await client.GET("/api/tables/books/rows/{pk}", {
    params: { path: { pk: firstRow.id } },
  });
  if (!one.data) throw new Error(`row by key: ${one.response.status}`);
  const id: number = one.data.row.id;
  const title: string = one.data.row.title;
  const year: number | null = one.data.row.year;

  const data = await client.GET("/api/data/title", { params: { query: { _limit: 3 } } });
  if (!data.data) throw new Error(`data: ${data.response.status}`);
  // The answer names the table it read; its values are typed as that table's column is.
  if (data.data.table !== "books") throw new Error(`data from ${data.data.table}`);
  const dataTable: string = data.data.table;
  const dataTitles: string[] = data.data.values;

  return {
    firstUrl: first.response.url,
    ids,
    years,
    titles,
    secondPageIds,
    byKey: { id, title, year },
    dataTable,
    dataTitles,
  };
}

export async function edge(baseUrl: string): Promise<EdgeSummary> {
  const client = createClient<EdgePaths, "application/json">({
    baseUrl,
    querySerializer: { object: { style: "form", explode: true } },
  });

  const strictRows = await client.GET("/api/tables/strict_t/rows", {
    params: { query: { _sort: ["id"] } },
  });
  if (!strictRows.data) throw new Error(`strict_t: ${strictRows.response.status}`);
  const strict = strictRows.data.rows.map((row) => {
    const id: number = row.id;
    const i: number | null = row.i;
    const b: string | null = row.b; // a BLOB: base64
    return { id, i, b };
  });

  const compoundRows = await client.GET("/api/tables/compound/rows", {
    params: { query: { filters: { a: "x" } } },
  });
  if (!compoundRows.data) throw new Error(`compound: ${compoundRows.response.status}`);
  const compound = compoundRows.data.rows.map((row) => {
    const a: string = row.a;
    const b: number = row.b;
    const note: string | null = row.note;
    return { a, b, note };
  });

  // A compound key: its values joined by ',' (in each value ',' is ~2C and '~' is ~7E).
  const one = await client.GET("/api/tables/compound/rows/{pk}", {
    params: { path: { pk: "x,2" } },
  });
  if (!one.data) throw new Error(`compound by key: ${one.response.status}`);
  const a: string = one.data.row.a;
  const b: number = one.data.row.b;
  const note: string | null = one.data.row.note;
  return { strict, compound, byKey: { a, b, note } };
}
