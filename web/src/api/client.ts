import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { apiKey } from "./session";

/** An RFC 9457 problem the API answered with, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string | null,
    readonly problem: Record<string, unknown> | null,
  ) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = "ApiError";
  }
}

async function toError(response: Response): Promise<ApiError> {
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    try {
      const body = (await response.json()) as Record<string, unknown>;
      const title = typeof body.title === "string" ? body.title : response.statusText;
      const detail = typeof body.detail === "string" ? body.detail : null;
      return new ApiError(response.status, title, detail, body);
    } catch {
      // not JSON after all: fall through to the status line
    }
  }
  return new ApiError(response.status, response.statusText || String(response.status), null, null);
}

const auth: Middleware = {
  onRequest({ request }) {
    const key = apiKey();
    if (key) request.headers.set("Authorization", `Bearer ${key}`);
    return request;
  },
};

/** The typed client of the public API (/v1): paths, parameters and bodies from openapi.json. */
export const api = createClient<paths>({ baseUrl: "/" });
api.use(auth);

/** The data of an openapi-fetch result, or its problem thrown as an ApiError. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (cause) {
    throw new ApiError(0, "network", String(cause), null);
  }
  if (!result.response.ok || result.data === undefined) {
    // openapi-fetch has already read the body into `error`; rebuild the problem from it.
    const body = result.error;
    if (body && typeof body === "object") {
      const p = body as Record<string, unknown>;
      throw new ApiError(
        result.response.status,
        typeof p.title === "string" ? p.title : result.response.statusText,
        typeof p.detail === "string" ? p.detail : null,
        p,
      );
    }
    throw new ApiError(result.response.status, result.response.statusText, null, null);
  }
  return result.data;
}

/** GET a same-origin JSON document outside /v1 (the OGC API has its own OpenAPI document). */
export async function getJson<T>(url: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { Accept: "application/geo+json, application/json" } });
  } catch (cause) {
    throw new ApiError(0, "network", String(cause), null);
  }
  if (!response.ok) throw await toError(response);
  return (await response.json()) as T;
}
