package config

import "time"

// Images is what Cinder reads of [DEFAULT] for volumes made from Glance images and uploaded
// to them: how Glance is reached, which image locations a backend may read directly, where
// images are converted, and the internal tenant that owns the image-volume cache's volumes.
type Images struct {
	GlanceAPIServers        []string      // glance_api_servers: host:port or URLs; empty: the Keystone catalog
	GlanceCatalogInfo       string        // glance_catalog_info, default image:glance:publicURL
	GlanceNumRetries        int           // glance_num_retries, default 3
	GlanceRequestTimeout    time.Duration // glance_request_timeout (seconds), default 60s in Scoria (Cinder: none)
	GlanceAPIInsecure       bool          // glance_api_insecure
	GlanceCAFile            string        // glance_ca_certificates_file
	GlanceCoreProperties    []string      // glance_core_properties; nil: DefaultGlanceCoreProperties
	AllowedDirectURLSchemes []string      // allowed_direct_url_schemes: location schemes read directly, e.g. file
	ImageConversionDir      string        // image_conversion_dir, default $state_path/conversion
	ImageConversionDisable  bool          // image_conversion_disable: refuse images that need converting
	InternalTenantProjectID string        // cinder_internal_tenant_project_id: owner of image-volume cache volumes
	InternalTenantUserID    string        // cinder_internal_tenant_user_id
	EnableForceUpload       bool          // enable_force_upload: os-volume_upload_image of an in-use volume with force
}

// Glance is the [glance] section.
type Glance struct {
	RegionName string // region_name: the region of the catalog's image endpoint; "" any
}

// ServiceUser is the [service_user] section (keystoneauth's password plugin): the credentials
// with which a volume service reaches Glance when it holds no user token (auth_strategy
// noauth, or a recovery after the user's token expired), and, with SendServiceUserToken, the
// service token sent beside the user's.
type ServiceUser struct {
	SendServiceUserToken bool   // send_service_user_token
	AuthURL              string // auth_url, e.g. http://controller:5000/v3
	Username             string // username
	Password             string // password
	ProjectName          string // project_name
	UserDomainName       string // user_domain_name, default Default
	ProjectDomainName    string // project_domain_name, default Default
}

const (
	glanceSection      = "glance"
	serviceUserSection = "service_user"
)

var imageOptions = []opt[Images]{
	{"glance_api_servers", "", "Glance API servers, host:port or URLs (comma-separated); empty: the image endpoint of the Keystone catalog", list(func(i *Images) *[]string { return &i.GlanceAPIServers })},
	{"glance_catalog_info", "image:glance:publicURL", "<service_type>:<service_name>:<endpoint_type> of Glance in the Keystone catalog", nonEmpty(func(i *Images) *string { return &i.GlanceCatalogInfo })},
	{"glance_num_retries", "3", "Times a Glance call is tried again after a connection error or an unavailable answer", integer(0, noMax, func(i *Images) *int { return &i.GlanceNumRetries })},
	{"glance_request_timeout", "60", "Seconds a Glance call (and any pause inside an image transfer) may take", seconds(1, func(i *Images) *time.Duration { return &i.GlanceRequestTimeout })},
	{"glance_api_insecure", "false", "Do not verify Glance's TLS certificate", boolean(func(i *Images) *bool { return &i.GlanceAPIInsecure })},
	{"glance_ca_certificates_file", "", "PEM file of the certificates Glance's is verified with", str(func(i *Images) *string { return &i.GlanceCAFile })},
	{"glance_core_properties", "", "Image fields that are not copied into a new image's properties when a volume is uploaded; empty: Cinder's checksum, container_format, disk_format, image_name, image_id, min_disk, min_ram, name, size", list(func(i *Images) *[]string { return &i.GlanceCoreProperties })},
	{"allowed_direct_url_schemes", "", "URL schemes of image locations a volume service may read directly instead of downloading, e.g. file", list(func(i *Images) *[]string { return &i.AllowedDirectURLSchemes })},
	{"image_conversion_dir", "$state_path/conversion", "Directory where images are downloaded and converted", nonEmpty(func(i *Images) *string { return &i.ImageConversionDir })},
	{"image_conversion_disable", "false", "Refuse to create volumes from images whose disk_format is not the backend's own (raw), and to upload in another format", boolean(func(i *Images) *bool { return &i.ImageConversionDisable })},
	{"cinder_internal_tenant_project_id", "", "Project that owns internal volumes, such as the image-volume cache's", str(func(i *Images) *string { return &i.InternalTenantProjectID })},
	{"cinder_internal_tenant_user_id", "", "User that owns internal volumes, such as the image-volume cache's", str(func(i *Images) *string { return &i.InternalTenantUserID })},
	{"enable_force_upload", "false", "Let os-volume_upload_image upload an in-use volume when the request says force (otherwise force is ignored)", boolean(func(i *Images) *bool { return &i.EnableForceUpload })},
}

var glanceOptions = []opt[Glance]{
	{"region_name", "", "Region of the Keystone catalog's image endpoint; empty: any", str(func(g *Glance) *string { return &g.RegionName })},
}

var serviceUserOptions = []opt[ServiceUser]{
	{"send_service_user_token", "false", "Send a service token of this user beside the user's token to Glance", boolean(func(s *ServiceUser) *bool { return &s.SendServiceUserToken })},
	{"auth_url", "", "Keystone URL the service user logs in at, e.g. http://controller:5000/v3", url("http://controller:5000/v3", func(s *ServiceUser) *string { return &s.AuthURL })},
	{"username", "", "Service user's name", str(func(s *ServiceUser) *string { return &s.Username })},
	{"password", "", "Service user's password", str(func(s *ServiceUser) *string { return &s.Password })},
	{"project_name", "", "Project the service user's token is scoped to", str(func(s *ServiceUser) *string { return &s.ProjectName })},
	{"user_domain_name", "Default", "Domain of the service user", str(func(s *ServiceUser) *string { return &s.UserDomainName })},
	{"project_domain_name", "Default", "Domain of the service user's project", str(func(s *ServiceUser) *string { return &s.ProjectDomainName })},
}

// DefaultGlanceCoreProperties is Cinder's default of glance_core_properties.
var DefaultGlanceCoreProperties = []string{"checksum", "container_format", "disk_format", "image_name", "image_id", "min_disk", "min_ram", "name", "size"}
