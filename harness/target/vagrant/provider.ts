// The Vagrant providers --target=vagrant knows (its own file, so the run's config need not load the target).
export const VAGRANT_PROVIDERS = ['libvirt', 'virtualbox'] as const;
export type VagrantProvider = (typeof VAGRANT_PROVIDERS)[number];
