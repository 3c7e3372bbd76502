/**
 * The warmpool.dev CustomResourceDefinitions, generated from schema/specs (the same objects as
 * schema/crds/warmpool.dev.yaml).
 */
import { CRD_GROUP, CRD_VERSION } from "@warmpool/schema";

export const CRD_API_VERSION = `${CRD_GROUP}/${CRD_VERSION}`;
