/**
 * The layout table of agent/README.md is the rule, and this test holds the tree to it: every module of
 * src/ belongs to exactly one row (the longest row path that contains it), every row has a module,
 * and every import from one row to another (type-only ones and `import()` included) is one the
 * importing row's "may import" column names. The rows are listed lowest first and may import only
 * rows above them, so the table states a direction; and no module may reach itself through imports.
 * Change the table and the tree together.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

const AGENT = path.join(__dirname, "..");
const SRC = path.join(AGENT, "src");

interface Row {
  key: string;
  mayImport: string[];
}

/** The rows of the `## Layout` table: `| \`src/x\` | job | \`src/y\`, \`src/z\` |` ("nothing" for none). */
export function layoutRows(readme: string): Row[] {
  const start = readme.indexOf("\n## Layout");
  if (start < 0) throw new Error("agent/README.md has no ## Layout section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const rows: Row[] = [];
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 5 || !cells[1]?.startsWith("`src")) continue;
    const key = (cells[1].match(/^`([^`]+)`$/) ?? [])[1];
    if (key === undefined) throw new Error(`layout row ${JSON.stringify(line)}: the first cell must be one \`src/...\` path`);
    const imports = cells[3] as string;
    const mayImport = imports === "nothing" ? [] : [...imports.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    rows.push({ key: key.replace(/\/$/, ""), mayImport });
  }
  return rows;
}

/** Every relative module a file names: imports and re-exports (type-only too), `import()` and `import("...")` types, require(). */
export function importsOf(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const add = (spec: ts.Node | undefined): void => {
    if (spec !== undefined && ts.isStringLiteralLike(spec) && spec.text.startsWith(".")) out.push(spec.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === "require"))) add(node.arguments[0]);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

/** `src/...` path of the module a specifier names from `from`. */
function resolve(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, "index.ts"), base]) if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  throw new Error(`${path.relative(AGENT, from)} imports ${JSON.stringify(spec)}, which is not a module of the agent`);
}

export type Graph = Map<string, Set<string>>;

/** The import graph of src/, as `src/...` paths. */
export function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of sourceFiles(SRC)) {
    const from = path.relative(AGENT, file);
    const to = new Set(importsOf(file, fs.readFileSync(file, "utf8")).map((s) => path.relative(AGENT, resolve(file, s))));
    graph.set(from, to);
  }
  return graph;
}

/** The row a module belongs to: the longest row path that is the module or a folder holding it. */
export function rowOf(rows: readonly Row[], module: string): Row | undefined {
  let best: Row | undefined;
  for (const r of rows) if ((module === r.key || module.startsWith(`${r.key}/`)) && (best === undefined || r.key.length > best.key.length)) best = r;
  return best;
}

/** Imports against the table, in words (empty when the tree keeps to it). */
export function violations(rows: readonly Row[], graph: Graph): string[] {
  const out: string[] = [];
  for (const r of rows) for (const m of r.mayImport) if (!rows.some((x) => x.key === m)) out.push(`row ${r.key} may import ${m}, which is no row of the table`);
  for (const [from, targets] of graph) {
    const a = rowOf(rows, from);
    if (a === undefined) {
      out.push(`${from} belongs to no row of the layout table`);
      continue;
    }
    for (const to of targets) {
      const b = rowOf(rows, to);
      if (b === undefined || b === a || a.mayImport.includes(b.key)) continue;
      out.push(`${from} imports ${to}: row ${a.key} may not import row ${b.key}`);
    }
  }
  for (const r of rows) if (![...graph.keys()].some((m) => rowOf(rows, m) === r)) out.push(`row ${r.key} has no module in the tree`);
  return out;
}

/** The strongly connected components with more than one node (or a self-loop): Tarjan's algorithm. */
export function cycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.has(v)) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return out;
}

describe("agent/README.md's layout table and src/", () => {
  const rows = layoutRows(fs.readFileSync(path.join(AGENT, "README.md"), "utf8"));
  const graph = importGraph();

  test("every module is in a row, every row has a module, every import goes the way the table allows", () => {
    expect(violations(rows, graph)).toEqual([]);
  });

  test("no module of src/ reaches itself through imports (type-only ones included)", () => {
    expect(cycles(graph)).toEqual([]);
  });

  test("the table's rows form no cycle: it states a direction", () => {
    const allowed: Graph = new Map(rows.map((r) => [r.key, new Set(r.mayImport)]));
    expect(cycles(allowed)).toEqual([]);
  });

  test("rows are listed lowest first: each may import only rows above it", () => {
    const upwards = rows.flatMap((r, i) => r.mayImport.filter((m) => rows.findIndex((x) => x.key === m) > i).map((m) => `${r.key} may import ${m}, listed below it`));
    expect(upwards).toEqual([]);
  });

  test("the check sees a wrong-way import: a row importing one that imports it", () => {
    const [low, high] = [rows.find((r) => r.mayImport.length === 0), rows.find((r) => r.mayImport.length > 0)];
    const probe: Graph = new Map([
      [`${low?.key}/x.ts`, new Set([`${high?.key}/y.ts`])],
      [`${high?.key}/y.ts`, new Set<string>()],
    ]);
    const found = violations(rows, probe).filter((v) => v.includes(" imports "));
    expect(found).toEqual([`${low?.key}/x.ts imports ${high?.key}/y.ts: row ${low?.key} may not import row ${high?.key}`]);
  });

  test("imports are read in every form: type-only, re-exports, import() and import types", () => {
    const text = [
      'import type { A } from "./a";',
      'export { B } from "./b";',
      'const c = import("./c");',
      'type D = typeof import("./d");',
      'import e = require("./e");',
      'import f from "fastify";',
    ].join("\n");
    expect(importsOf("x.ts", text)).toEqual(["./a", "./b", "./c", "./d", "./e"]);
  });
});
