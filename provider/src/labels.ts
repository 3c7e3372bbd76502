/**
 * The labels every object of an App carries, so that `kubectl get -l warmpool.dev/app=x` finds an App's
 * objects and the agent can select a function's pods.
 */
import { LABELS } from "@warmpool/schema";
import type { AppRef } from "./refs";

export const LABEL_APP = LABELS.app;
export const LABEL_ENVIRONMENT = LABELS.environment;
export const LABEL_FUNCTION = LABELS.function;
export const LABEL_POOL = LABELS.pool;
export const LABEL_GPU = LABELS.gpu;
export const TAINT_GPU = "nvidia.com/gpu";
export const RESOURCE_GPU = "nvidia.com/gpu";

export type Labels = { [key: string]: string };

export function appLabels(app: string, environment: string, extra: Labels = {}): Labels {
  return {
    ...extra,
    "app.kubernetes.io/part-of": app,
    "app.kubernetes.io/instance": `${app}-${environment}`,
    "app.kubernetes.io/managed-by": "warmpool",
    [LABEL_APP]: app,
    [LABEL_ENVIRONMENT]: environment,
  };
}

/** Labels of one object of an App: the App's, plus what the object is. */
export function componentLabels(app: AppRef, component: string, name: string): Labels {
  return { ...app.labels, "app.kubernetes.io/name": name, "app.kubernetes.io/component": component };
}

/** The labels a function's pods are selected by: stable, so never changed after creation. */
export function functionSelector(app: string, fn: string): Labels {
  return { [LABEL_APP]: app, [LABEL_FUNCTION]: fn };
}
