// Must NOT compile (tsconfig.wrong.json): each line marked `// fails: TSnnnn` is a mistake
// that exact types from the document catch. tests/test_typescript.py asserts tsc reports
// that error on each marked line and on no other line — were the generated types `any` or
// loose, these would compile.
import createClient from "openapi-fetch";
import type { paths as EdgePaths } from "./edge.d.ts";
import type { paths as SamplePaths } from "./sample.d.ts";

export async function mistakes(baseUrl: string): Promise<void> {
  const client = createClient<SamplePaths, "application/json">({
    baseUrl,
    querySerializer: { object: { style: "form", explode: true } },
  });
  await client.GET("/api/tables/books/rows", {
    params: { query: { filters: { year__gte: "x" } } }, // fails: TS2322
  });
  await client.GET("/api/tables/books/rows", {
    params: { query: { filters: { nope__gte: 1 } } }, // fails: TS2353
  });
  const page = await client.GET("/api/tables/books/rows", { params: { query: { _limit: 5 } } });
  if (!page.data) return;
  const row = page.data.rows[0];
  if (row === undefined) return;
  const year: string | null = row.year; // fails: TS2322
  const title: number = row.title; // fails: TS2322
  const missing: unknown = row.nope; // fails: TS2339
  void [year, title, missing];

  await client.GET("/api/tables/books/rows", { params: { query: { _limit: "5" } } }); // fails: TS2322
  await client.GET("/api/tables/books/rows/{pk}", { params: { path: { pk: "1" } } }); // fails: TS2322
  await client.GET("/api/tables/nope/rows", {}); // fails: TS2345

  const edge = createClient<EdgePaths, "application/json">({ baseUrl });
  const strict = await edge.GET("/api/tables/strict_t/rows", {});
  if (!strict.data) return;
  for (const r of strict.data.rows) {
    const i: string = r.i; // fails: TS2322
    const b: number | null = r.b; // fails: TS2322
    void [i, b];
  }
  await edge.GET("/api/tables/compound/rows/{pk}", { params: { path: { pk: 1 } } }); // fails: TS2322
}
