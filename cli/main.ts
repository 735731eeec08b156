// The `troupe` executable: `deno run -A cli/main.ts …` or `deno task troupe …`.

import { main } from "./mod.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
