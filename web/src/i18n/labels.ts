import type { components } from "../api/schema";
import type { MessageKey } from "./de";

type Schemas = components["schemas"];

// Keyed by the API's own enums (generated from the OpenAPI document): a value the API adds
// or renames fails the type-check until it has a label here and in every catalogue.
export const CATEGORY: Record<Schemas["Category"], MessageKey> = {
  brownfield: "category.brownfield",
  vacant_building: "category.vacant_building",
  infill_gap: "category.infill_gap",
  commercial_site: "category.commercial_site",
  greenfield_reserve: "category.greenfield_reserve",
};

export const ZONING: Record<Schemas["Zoning"], MessageKey> = {
  MU: "zoning.MU",
  MI: "zoning.MI",
  MK: "zoning.MK",
  GE: "zoning.GE",
  GI: "zoning.GI",
  SO: "zoning.SO",
  inner_area_34: "zoning.inner_area_34",
  other: "zoning.other",
};

export const TENURE: Record<Schemas["Tenure"], MessageKey> = {
  sale: "tenure.sale",
  lease: "tenure.lease",
  sale_or_lease: "tenure.sale_or_lease",
  hereditary_lease: "tenure.hereditary_lease",
};

export const STATUS: Record<Schemas["PlotStatus"], MessageKey> = {
  draft: "status.draft",
  published: "status.published",
  reserved: "status.reserved",
  under_negotiation: "status.under_negotiation",
  transferred: "status.transferred",
  withdrawn: "status.withdrawn",
};

export const ORG_KIND: Record<Schemas["OrgKind"], MessageKey> = {
  municipality: "kind.municipality",
  company: "kind.company",
  agency: "kind.agency",
  admin: "kind.admin",
};

/** The label of an enum value, or the value itself when it is not (yet) known. */
export function label<T extends string>(table: Record<T, MessageKey>, value: string): MessageKey | null {
  return value in table ? table[value as T] : null;
}
