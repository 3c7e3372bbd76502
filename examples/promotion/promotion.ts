/**
 * What a stack deploys, and where it comes from: a stack with its own `images` config is a source
 * (dev); a stack with `promoteFrom` takes the source stack's images and must run the same warmpool
 * package version, so that prod never runs an artefact dev did not.
 */
import * as pulumi from "@pulumi/pulumi";

export type Images = { [fn: string]: string };

const DIGEST = /^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$/;

/** Images must be pinned by digest: a tag can move between the dev deploy and the prod deploy. */
export function checkDigests(images: Images, from: string): Images {
  const unpinned = Object.entries(images).filter(([, image]) => !DIGEST.test(image));
  if (unpinned.length > 0) {
    throw new Error(`${from}: images must be pinned by digest (repo@sha256:<64 hex>): ${unpinned.map(([fn, image]) => `${fn}=${image}`).join(", ")}`);
  }
  return images;
}

export interface Source {
  images: pulumi.Output<Images>;
  /** The stack the images were promoted from, or undefined for a source stack. */
  promotedFrom?: string;
}

export function source(config: pulumi.Config, packageVersion: string): Source {
  const promoteFrom = config.get("promoteFrom");
  if (promoteFrom === undefined) {
    return { images: pulumi.output(checkDigests(config.requireObject<Images>("images"), "config images")) };
  }
  const upstream = new pulumi.StackReference(promoteFrom);
  const images = pulumi.all([upstream.requireOutput("images"), upstream.requireOutput("warmpoolVersion")]).apply(([upstreamImages, version]) => {
    if (version !== packageVersion) {
      throw new Error(`${promoteFrom} ran warmpool ${version} but this program uses ${packageVersion}: promote both together`);
    }
    return checkDigests(upstreamImages as Images, promoteFrom);
  });
  return { images, promotedFrom: promoteFrom };
}
