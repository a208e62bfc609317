// Hopcroft–Karp maximum bipartite matching, used to build migration steps where a worker sends and receives at most one bin.

/**
 * A bipartite graph edge list: edge i joins left vertex `left[i]` (in [0, nLeft)) to right vertex
 * `right[i]` (in [0, nRight)). Parallel edges are allowed (a multigraph); at most one of them can be matched.
 */
export interface BipartiteEdges {
  readonly nLeft: number;
  readonly nRight: number;
  readonly left: ArrayLike<number>;
  readonly right: ArrayLike<number>;
}

const NIL = -1;

/**
 * A maximum matching by Hopcroft and Karp (1973): repeated BFS layering from free left vertices, then
 * vertex-disjoint shortest augmenting paths by DFS, O(E·sqrt(V)). Returns the indices of the matched
 * edges, ascending. Invariant: no two returned edges share a left or a right vertex, and no larger such
 * set exists. Deterministic: each vertex tries its edges in index order, so earlier edges are preferred
 * (not guaranteed) — the planner lists edges in priority order to favour hot moves.
 */
export function maxBipartiteMatching(g: BipartiteEdges): number[] {
  const { nLeft, nRight } = g;
  const m = g.left.length;
  // adjacency in CSR form, edges of each left vertex in index order
  const start = new Int32Array(nLeft + 1);
  for (let e = 0; e < m; e++) start[g.left[e] + 1]++;
  for (let u = 0; u < nLeft; u++) start[u + 1] += start[u];
  const adj = new Int32Array(m);
  const fill = start.slice(0, nLeft);
  for (let e = 0; e < m; e++) adj[fill[g.left[e]]++] = e;

  const matchEdgeOfLeft = new Int32Array(nLeft).fill(NIL); // matched edge index per left vertex
  const matchLeftOfRight = new Int32Array(nRight).fill(NIL);
  const dist = new Int32Array(nLeft);
  const queue = new Int32Array(nLeft);
  const INF = 0x7fffffff;

  const bfs = (): boolean => {
    let qh = 0;
    let qt = 0;
    for (let u = 0; u < nLeft; u++) {
      if (matchEdgeOfLeft[u] === NIL) {
        dist[u] = 0;
        queue[qt++] = u;
      } else dist[u] = INF;
    }
    let found = false;
    while (qh < qt) {
      const u = queue[qh++];
      for (let i = start[u]; i < start[u + 1]; i++) {
        const v = g.right[adj[i]];
        const w = matchLeftOfRight[v];
        if (w === NIL) found = true;
        else if (dist[w] === INF) {
          dist[w] = dist[u] + 1;
          queue[qt++] = w;
        }
      }
    }
    return found;
  };

  // iterative-friendly recursion depth is bounded by the matching size (<= min(nLeft, nRight))
  const next = new Int32Array(nLeft);
  const dfs = (u: number): boolean => {
    for (; next[u] < start[u + 1]; next[u]++) {
      const e = adj[next[u]];
      const v = g.right[e];
      const w = matchLeftOfRight[v];
      if (w === NIL || (dist[w] === dist[u] + 1 && dfs(w))) {
        matchEdgeOfLeft[u] = e;
        matchLeftOfRight[v] = u;
        next[u]++;
        return true;
      }
    }
    dist[u] = INF;
    return false;
  };

  while (bfs()) {
    for (let u = 0; u < nLeft; u++) next[u] = start[u];
    for (let u = 0; u < nLeft; u++) if (matchEdgeOfLeft[u] === NIL) dfs(u);
  }

  const out: number[] = [];
  for (let u = 0; u < nLeft; u++) if (matchEdgeOfLeft[u] !== NIL) out.push(matchEdgeOfLeft[u]);
  return out.sort((a, b) => a - b);
}
